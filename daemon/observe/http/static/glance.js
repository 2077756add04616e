// Panels at a glance, from /api/stats every 2 s: the models and the memory budget they are
// charged against (a bar), with p50/p99 per model; routing and privacy (the tier of each sensor,
// decisions by route, cloud calls, failures, latency, the breaker, cost today against the cap, what
// the MQTT gate kept on the device, and what left it today by destination, per the audit); the
// end-to-end latency of each user-facing path (input → MQTT message, p50/p99 of recent messages);
// and the plugins and MCP tool servers (state, events, publishes, tool calls, restarts).

(() => {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  const row = (...cells) => {
    const tr = el('tr');
    for (const c of cells) tr.append(el('td', c));
    return tr;
  };
  const ms = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(v < 10 ? 1 : 0)} ms` : '–');

  function renderModels(m) {
    const section = $('models');
    section.hidden = !m;
    if (!m) return;
    const used = m.usedMb ?? 0;
    const budget = m.budgetMb ?? 0;
    const pct = budget > 0 ? Math.min(100, (used / budget) * 100) : 0;
    const bar = $('budget-bar');
    bar.setAttribute('aria-valuenow', String(Math.round(pct)));
    $('budget-fill').style.width = `${pct.toFixed(1)}%`;
    $('budget-fill').className = `fill${pct >= 90 ? ' hot' : ''}`;
    $('budget-text').textContent =
      budget > 0 ? `${used.toFixed(0)} of ${budget.toFixed(0)} MB charged` : 'no budget';
    const latency = new Map((m.latency ?? []).map((l) => [l.model, l]));
    const ids = new Set([...(m.models ?? []).map((x) => x.id), ...latency.keys()]);
    const rows = [...ids].map((id) => {
      const x = (m.models ?? []).find((y) => y.id === id) ?? {};
      const l = latency.get(id) ?? {};
      return row(
        id,
        x.state ?? '–',
        x.memoryMb === undefined ? '–' : `${x.memoryMb.toFixed(0)} MB`,
        ms(l.p50Ms),
        ms(l.p99Ms),
        String(l.runs ?? '–'),
      );
    });
    $('model-table').tBodies[0].replaceChildren(...rows);
    // Recent loads and unloads, newest first, with the load time or the reason.
    const events = [...(m.events ?? [])].reverse().map((e) => {
      const at = new Date(e.tsMs).toLocaleTimeString();
      const detail = e.kind === 'load' ? `in ${e.loadMs} ms` : (e.why ?? '');
      return el('li', `${at} ${e.kind.replace(/_/g, ' ')} ${e.model} ${detail}`.trim());
    });
    $('model-events').replaceChildren(...events);
  }

  /** The paths as a user names them (actions/stage-latency.ts STAGES). */
  const STAGE_NAMES = {
    camera_to_face_emotion: 'camera frame → face/emotion',
    speech_end_to_transcript: 'speech end → voice/transcript',
    impact_to_fall: 'IMU impact → imu/motion fall',
  };

  function renderStages(stages) {
    const section = $('stages');
    section.hidden = !stages;
    if (!stages) return;
    const rows = stages.map((s) =>
      row(
        STAGE_NAMES[s.stage] ?? s.stage,
        s.count > 0 ? ms(s.p50Ms) : '–',
        s.count > 0 ? ms(s.p99Ms) : '–',
        String(s.count),
      ),
    );
    $('stage-table').tBodies[0].replaceChildren(...rows);
  }

  const kib = (b) =>
    b < 1024 ? `${b} B` : b < 1048576 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 1048576).toFixed(1)} MiB`;

  function renderEgress(e) {
    const rows = (e?.destinations ?? []).map((d) =>
      row(d.via, d.destination, String(d.count), kib(d.bytes), String(d.refused)),
    );
    if (rows.length === 0) rows.push(row('–', e ? 'nothing left the device today' : 'no audit', '', '', ''));
    $('egress-today').tBodies[0].replaceChildren(...rows);
  }

  function renderRouting(r, broker, privacy) {
    const list = $('routing-glance');
    const items = [];
    for (const [id, s] of Object.entries(privacy?.sensors ?? {})) {
      items.push([`tier ${id}`, `${s.tier.replace(/_/g, '-')} (${s.kind})`]);
    }
    if (r) {
      const decisions = Object.entries(r.decisions ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(' · ');
      items.push(['decisions', decisions || 'none yet']);
      items.push(['cloud calls', `${r.cloudCalls ?? 0} (${r.cloudFailures ?? 0} failed)`]);
      items.push(['cloud latency', `p50 ${ms(r.cloudLatencyP50Ms)} · p99 ${ms(r.cloudLatencyP99Ms)}`]);
      const cap = typeof r.costCapUsd === 'number' ? ` of $${r.costCapUsd.toFixed(2)} cap` : '';
      items.push(['cloud cost today', `$${(r.costTodayUsd ?? 0).toFixed(4)}${cap}`]);
      if (r.breaker) items.push(['cloud breaker', r.breaker.replace(/_/g, ' ')]);
    }
    if (broker) {
      items.push([
        'broker',
        `${broker.connected ? 'connected' : 'disconnected'}${broker.destination ? ` (${broker.destination})` : ''}`,
      ]);
      const withheld = Object.entries(broker.withheld ?? {});
      const total = withheld.reduce((n, [, v]) => n + v, 0);
      items.push([
        'kept on the device',
        total === 0 ? 'nothing withheld' : withheld.map(([k, v]) => `${k} ${v}`).join(' · '),
      ]);
    }
    list.replaceChildren(
      ...items.flatMap(([k, v]) => {
        const dt = el('dt', k);
        const dd = el('dd', v);
        dd.dataset.key = k;
        return [dt, dd];
      }),
    );
  }

  function pluginState(p) {
    if (!p.running) return 'down';
    if (!p.ready) return 'starting';
    return p.healthOk ? 'up' : `unhealthy: ${p.healthDetail}`;
  }

  // Plugins (plugins/plugin-host.ts) and MCP tool servers (mcp/mcp-tool-server.ts), one row each.
  function renderPlugins(plugins, mcp) {
    const servers = mcp?.servers ?? [];
    const section = $('plugins');
    section.hidden = (plugins ?? []).length === 0 && servers.length === 0;
    const rows = (plugins ?? []).map((p) =>
      row(
        p.id,
        pluginState(p),
        `${p.eventsSent} delivered · ${p.eventsDropped} dropped · ${p.eventsWithheld} withheld`,
        `${p.published} accepted · ${p.publishRefused} refused · ${p.publishDropped} dropped`,
        `${p.toolOk} ok · ${p.toolFailures} failed`,
        String(p.restarts),
      ),
    );
    for (const m of servers) {
      rows.push(
        row(
          `${m.id} (MCP)`,
          m.ready
            ? `up: ${m.tools.length} tool${m.tools.length === 1 ? '' : 's'}`
            : m.running
              ? 'starting'
              : 'down',
          '–',
          '–',
          `${m.toolOk} ok · ${m.toolFailures} failed`,
          String(m.restarts),
        ),
      );
    }
    $('plugin-table').tBodies[0].replaceChildren(...rows);
  }

  async function poll() {
    try {
      const { snapshot } = await edgeloom.getJson('/api/stats');
      renderModels(snapshot.models);
      renderStages(snapshot.stages);
      renderRouting(snapshot.routing, snapshot.broker, snapshot.privacy);
      renderEgress(snapshot.egressToday);
      renderPlugins(snapshot.plugins, snapshot.mcp);
    } catch {
      // the daemon restarting: the next poll tries again
    }
    setTimeout(poll, POLL_MS);
  }
  poll();
})();
