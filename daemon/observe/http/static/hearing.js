// The hearing view: per microphone a level meter (RMS and peak, dBFS) and the last 10 s of level
// (green) and of the VAD's speech probability (blue, 0..1 over the timeline's height) on a
// scrolling timeline, with the VAD's speech segments shaded and each transcript written at
// its segment. Levels are polled from /api/mic/levels (5 Hz, only while this page is open);
// segments and transcripts arrive as events, and so do the markers drawn across the timeline: each
// intent the assistant recognised, each answer it spoke (`action/speaking`) and each wake word it
// heard (`inference/wake/+`).

(() => {
  const $ = (id) => document.getElementById(id);
  const list = $('hearing-list');
  const POLL_MS = 200;
  // The meter and timeline show −72..0 dBFS: below that (the server's floor is −96) is room noise
  // on any real microphone, and a wider scale would squeeze speech into the top third.
  const SHOWN_DB = 72;
  const MAX_SEGMENTS = 32; // per microphone; older ones dropped
  const MAX_MARKS = 32; // intents and answers, for all microphones; older ones dropped
  const marks = []; // { tsMs, kind: 'intent' | 'answer' | 'wake', text }
  const MARK_COLOUR = { intent: '#dd6b20', answer: '#805ad5', wake: '#38a169' };
  const MARK_LABEL = { intent: (t) => `⟶ ${t}`, answer: (t) => `“${t}”`, wake: (t) => `◉ ${t}` };
  const views = new Map(); // mic id → { meter, fill, peak, value, canvas, segments: [{start, end, text}] }

  function viewOf(id) {
    let v = views.get(id);
    if (v) return v;
    const meter = document.createElement('div');
    meter.className = 'meter';
    meter.setAttribute('role', 'meter');
    meter.setAttribute('aria-label', `microphone ${id}`);
    meter.setAttribute('aria-valuemin', String(-SHOWN_DB));
    meter.setAttribute('aria-valuemax', '0');
    const fill = document.createElement('div');
    fill.className = 'fill';
    const peak = document.createElement('div');
    peak.className = 'peak';
    meter.append(fill, peak);
    // The caption under the timeline reads the meter out in dBFS.
    const { canvas, caption: value } = edgeloom.canvasFigure(list, `hearing timeline ${id}`, 560, 120, [
      meter,
    ]);
    v = { id, meter, fill, peak, value, canvas, segments: [], levels: [] };
    views.set(id, v);
    return v;
  }

  const frac = (db) => Math.max(0, Math.min(1, (db + SHOWN_DB) / SHOWN_DB));

  function draw(v, periodMs) {
    const levels = v.levels;
    const last = levels[levels.length - 1];
    if (last) {
      v.fill.style.width = `${(frac(last.rmsDbfs) * 100).toFixed(1)}%`;
      v.peak.style.left = `${(frac(last.peakDbfs) * 100).toFixed(1)}%`;
      v.meter.setAttribute('aria-valuenow', last.rmsDbfs.toFixed(1));
      v.value.textContent = `${v.id} · ${last.rmsDbfs.toFixed(1)} dBFS RMS · peak ${last.peakDbfs.toFixed(1)} dBFS`;
    }
    const ctx = v.canvas.getContext('2d');
    const w = v.canvas.width;
    const h = v.canvas.height;
    ctx.clearRect(0, 0, w, h);
    if (!last) return;
    const end = last.tsMs + periodMs;
    const span = levels.length * periodMs || 10_000;
    const x = (t) => w - ((end - t) / span) * w;
    ctx.fillStyle = 'rgba(49, 130, 206, 0.25)';
    ctx.font = '11px system-ui, sans-serif';
    for (const s of v.segments) {
      const x0 = Math.max(0, x(s.start));
      const x1 = Math.min(w, x(s.end ?? end));
      if (x1 <= 0 || x0 >= w) continue;
      ctx.fillStyle = 'rgba(49, 130, 206, 0.25)';
      ctx.fillRect(x0, 0, x1 - x0, h);
      if (s.text) {
        ctx.fillStyle = getComputedStyle(document.body).color;
        ctx.fillText(s.text, x0 + 2, 12, Math.max(40, x1 - x0 + 80));
      }
    }
    // Intents (orange), spoken answers (violet), wake words (green): a line at the moment, its
    // label at the bottom.
    for (const m of marks) {
      const mx = x(m.tsMs);
      if (mx < 0 || mx > w) continue;
      ctx.fillStyle = MARK_COLOUR[m.kind];
      ctx.fillRect(mx - 1, 0, 2, h);
      ctx.fillText(MARK_LABEL[m.kind](m.text), mx + 3, h - 4, Math.max(40, w - mx - 4));
    }
    // The VAD's speech probability per period (the highest of its frames), 0 at the bottom.
    ctx.strokeStyle = '#3182ce';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    for (const l of levels) {
      if (typeof l.vadProbability !== 'number') continue;
      const y = h - 2 - l.vadProbability * (h - 16);
      if (started) ctx.lineTo(x(l.tsMs), y);
      else ctx.moveTo(x(l.tsMs), y);
      started = true;
    }
    ctx.stroke();
    ctx.strokeStyle = '#38a169';
    ctx.lineWidth = 2;
    ctx.beginPath();
    levels.forEach((l, i) => {
      const y = h - frac(l.rmsDbfs) * (h - 16) - 2;
      if (i === 0) ctx.moveTo(x(l.tsMs), y);
      else ctx.lineTo(x(l.tsMs), y);
    });
    ctx.stroke();
  }

  async function poll() {
    try {
      const r = await edgeloom.getJson('/api/mic/levels');
      for (const [id, levels] of Object.entries(r.mics ?? {})) {
        const v = viewOf(id);
        v.levels = levels;
        draw(v, r.periodMs || 100);
      }
      window.edgeloomHearing = Object.fromEntries(
        [...views].map(([id, v]) => [
          id,
          {
            levels: v.levels.length,
            last: v.levels[v.levels.length - 1],
            segments: v.segments.map((s) => ({ ...s })),
            marks: marks.map((m) => ({ ...m })),
          },
        ]),
      );
    } catch {
      // the daemon restarting: the next poll tries again
    }
    setTimeout(poll, POLL_MS);
  }

  function mark(tsMs, kind, text) {
    marks.push({ tsMs, kind, text });
    if (marks.length > MAX_MARKS) marks.shift();
  }

  function onEvent(ev) {
    const p = ev.payload ?? {};
    const parts = ev.topic.split('/');
    if (parts[0] === 'agent' && parts[2] === 'intent') {
      if (typeof p.intent === 'string') mark(ev.tsMs, 'intent', p.intent);
      return;
    }
    if (parts[1] === 'wake') {
      if (typeof p.word === 'string') mark(ev.tsMs, 'wake', p.word);
      return;
    }
    if (ev.topic === 'action/speaking') {
      if (p.state === 'start' && typeof p.text === 'string') mark(ev.tsMs, 'answer', p.text);
      return;
    }
    const v = viewOf(parts[2]);
    if (parts[1] === 'vad') {
      if (p.kind === 'start') v.segments.push({ start: p.startMs });
      else {
        const open = v.segments.findLast((s) => s.start === p.startMs) ?? v.segments[v.segments.length - 1];
        if (open) open.end = p.endMs;
      }
      if (v.segments.length > MAX_SEGMENTS) v.segments.shift();
    } else if (parts[1] === 'stt' && typeof p.text === 'string') {
      const seg =
        v.segments.findLast((s) => s.start <= p.segmentStartMs + 1) ?? v.segments[v.segments.length - 1];
      if (seg) seg.text = p.text;
    }
  }

  const topics = [
    'inference/vad/+',
    'inference/stt/+',
    'agent/+/intent',
    'action/speaking',
    'inference/wake/+',
  ];
  edgeloom.events(topics, onEvent);
  poll();
})();
