// The dashboard: /api/stats every 2 s for status, tables and charts; two event streams, one for
// the live table (the user's pattern) and one for the decision/transcript/emotion panels.

(() => {
  const $ = (id) => document.getElementById(id);
  const HISTORY = 90; // chart points kept (3 min at the 2 s poll)
  const MAX_ROWS = 200; // live-table rows kept; older rows are removed
  const MAX_FEED = 20; // items per panel
  const FRAME_TOPIC = /^sensor\/[^/]+\/[^/]+\/(frame|window)$/;

  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  const time = (ms) => {
    const d = new Date(ms);
    return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  };
  const mib = (b) => `${(b / 1048576).toFixed(0)} MiB`;

  // ------------------------------------------------------------ stats poll
  const rateHistory = new Map(); // series label → values
  const latencyHistory = new Map();

  function pushHistory(map, current) {
    for (const [label, values] of map) {
      values.push(current.has(label) ? current.get(label) : Number.NaN);
      if (values.length > HISTORY) values.shift();
    }
    for (const [label, v] of current) if (!map.has(label)) map.set(label, [v]);
    for (const [label, values] of map) if (values.every((v) => !Number.isFinite(v))) map.delete(label);
  }

  function renderStatus(health, report) {
    const badge = $('health');
    badge.textContent = report.status;
    badge.className = `badge ${report.status}`;
    $('reasons').textContent = report.reasons.join(' · ');
    const rows = Object.entries(health ?? {}).map(([name, h]) => {
      const tr = el('tr');
      tr.append(
        el('td', name),
        el('td', h.status, `status-${h.status}`),
        el('td', (h.reasons ?? []).join('; ')),
      );
      return tr;
    });
    if (rows.length === 0) {
      const tr = el('tr');
      const td = el('td', 'no component health wired', 'muted');
      td.colSpan = 3;
      tr.append(td);
      rows.push(tr);
    }
    $('status').tBodies[0].replaceChildren(...rows);
  }

  function renderSubs(subs) {
    const rows = [...subs]
      .sort((a, b) => b.perSecond - a.perSecond)
      .map((s) => {
        const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
        const tr = el('tr');
        tr.append(
          el('td', s.component),
          el('td', s.pattern),
          el('td', s.perSecond.toFixed(1)),
          el('td', `${s.queueDepth}/${s.queueCapacity}`),
          el('td', String(dropped), dropped > 0 ? 'status-degraded' : ''),
        );
        return tr;
      });
    $('subs').tBodies[0].replaceChildren(...rows);
  }

  function renderProcess(snap) {
    const p = snap.process;
    const parts = [
      `RSS ${mib(p.rssBytes)}`,
      `heap ${mib(p.heapUsedBytes)}`,
      `CPU ${(p.cpuRatio * 100).toFixed(0)}%`,
      `load ${p.loadAverage[0].toFixed(2)}`,
    ];
    if (snap.temperatureC !== undefined) parts.push(`${snap.temperatureC.toFixed(0)} °C`);
    if (snap.memory) parts.push(`memory ${snap.memory.level}`);
    if (snap.outbox) parts.push(`outbox ${snap.outbox.depth}`);
    $('process').textContent = parts.join(' · ');
  }

  function renderCharts(snap) {
    const rates = new Map();
    let total = 0;
    for (const t of snap.topics) total += t.perSecond;
    total += snap.otherTopics.perSecond;
    rates.set('all topics', total);
    for (const t of snap.topics.slice(0, 4)) rates.set(t.topic, t.perSecond);
    pushHistory(rateHistory, rates);
    const lat = new Map();
    for (const l of snap.models?.latency ?? []) lat.set(`${l.model} p50`, l.p50Ms);
    const r = snap.routing;
    if (r?.cloudLatencyP50Ms !== undefined && r.cloudLatencyP50Ms !== null)
      lat.set('cloud p50', r.cloudLatencyP50Ms);
    if (r?.cloudLatencyP99Ms !== undefined && r.cloudLatencyP99Ms !== null)
      lat.set('cloud p99', r.cloudLatencyP99Ms);
    pushHistory(latencyHistory, lat);
    const toSeries = (m) => [...m].map(([label, values]) => ({ label, values }));
    edgeloomCharts.draw($('chart-rates'), $('legend-rates'), toSeries(rateHistory), HISTORY);
    edgeloomCharts.draw($('chart-latency'), $('legend-latency'), toSeries(latencyHistory), HISTORY);
    if (r) {
      const parts = Object.entries(r.decisions).map(([route, n]) => `${route} ${n}`);
      if (r.costTodayUsd !== undefined) parts.push(`cost today $${r.costTodayUsd.toFixed(4)}`);
      $('routing-summary').textContent = parts.join(' · ');
    }
  }

  async function poll() {
    try {
      const { health, snapshot } = await edgeloom.getJson('/api/stats');
      renderStatus(snapshot.health, health);
      renderSubs(snapshot.subscriptions);
      renderProcess(snapshot);
      renderCharts(snapshot);
    } catch (err) {
      $('health').textContent = 'unreachable';
      $('health').className = 'badge failed';
      $('reasons').textContent = String(err.message ?? err);
    }
  }
  poll();
  setInterval(poll, 2000);

  // ------------------------------------------------------------ panels
  function feed(id, item) {
    const list = $(id);
    list.prepend(item);
    while (list.children.length > MAX_FEED) list.lastElementChild.remove();
  }

  function onPanelEvent(ev) {
    const p = ev.payload ?? {};
    const li = el('li');
    li.append(el('span', time(ev.tsMs), 'meta'));
    if (ev.topic === 'router/decision') {
      const nums = Object.entries(p.numbers ?? {})
        .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(3) : v}`)
        .join(' ');
      li.append(
        el('span', p.route, 'route'),
        ` ${p.kind ?? ''} ${p.reason ?? ''} `,
        el('span', nums, 'meta'),
      );
      feed('decisions', li);
    } else if (ev.topic.startsWith('inference/stt/')) {
      li.append(el('span', `[${ev.topic.slice(14)}]`, 'meta'), p.text ?? '');
      if (p.refines) li.append(el('span', ' (refined)', 'meta'));
      feed('transcripts', li);
    } else if (ev.topic.startsWith('inference/face/')) {
      const f = (p.faces ?? [])[0];
      if (!f) return; // frames without a face would flood the panel; the display page shows "no face"
      li.append(
        el('span', `[${ev.topic.slice(15)}]`, 'meta'),
        `${f.emotion} ${(f.probabilities?.[f.emotion] ?? f.score ?? 0).toFixed(2)}`,
      );
      feed('emotions', li);
    } else if (ev.topic === 'action/display') {
      li.append(
        `${p.emoji ?? ''} ${p.emotion} ${Number(p.confidence ?? 0).toFixed(2)}`,
        el('span', ' display', 'meta'),
      );
      feed('emotions', li);
    }
  }
  edgeloom.events(['router/decision', 'inference/stt/+', 'inference/face/+', 'action/display'], onPanelEvent);

  // ------------------------------------------------------------ live table
  let source;
  let paused = false;
  let skipped = 0;
  let pending = [];
  let scheduled = false;

  function flush() {
    scheduled = false;
    const body = $('events').tBodies[0];
    const rows = pending.map((ev) => {
      const tr = el('tr');
      tr.append(
        el('td', time(ev.tsMs)),
        el('td', ev.topic),
        el('td', ev.source),
        el('td', JSON.stringify(ev.payload)),
      );
      return tr;
    });
    pending = [];
    body.prepend(...rows.reverse());
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
  }

  function onLiveEvent(ev) {
    if (paused) {
      skipped++;
      return;
    }
    if ($('hide-frames').checked && FRAME_TOPIC.test(ev.topic)) return;
    pending.push(ev);
    if (pending.length > MAX_ROWS) pending.shift();
    // Batch DOM work per animation frame: a 30 fps camera should not mean 30 layouts a second.
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  }

  function connect() {
    source?.close();
    const pattern = $('pattern').value.trim() || '#';
    $('stream-state').textContent = 'connecting…';
    source = edgeloom.events([pattern], onLiveEvent, (state, dropped) => {
      if (state === 'open') $('stream-state').textContent = `streaming ${pattern}`;
      else if (state === 'reconnecting') $('stream-state').textContent = 'reconnecting…';
      else if (state === 'closed') $('stream-state').textContent = `refused: is ${pattern} a valid pattern?`;
      else if (state === 'dropped')
        $('stream-state').textContent = `streaming ${pattern} (server skipped ${dropped})`;
    });
  }

  $('filter').addEventListener('submit', (e) => {
    e.preventDefault();
    $('events').tBodies[0].replaceChildren();
    connect();
  });
  $('pause').addEventListener('click', () => {
    paused = !paused;
    $('pause').textContent = paused ? 'resume' : 'pause';
    $('pause').setAttribute('aria-pressed', String(paused));
    if (!paused && skipped > 0) $('stream-state').textContent = `resumed (${skipped} events not shown)`;
    skipped = 0;
  });
  $('display-link').href = edgeloom.url('/display');
  connect();
})();
