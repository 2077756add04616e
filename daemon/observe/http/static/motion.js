// The motion view: |a| (g) and gyro magnitude (deg/s) of each IMU on a scrolling chart of the last
// WINDOW_MS of sensor time, with the motion agent's fall / shake / tilt events marked where they
// happened, and the rest orientation the motion agent has learned (pitch and roll, from
// /api/stats every 2 s). Small and hand-drawn on <canvas>: nothing from the network.

(() => {
  const $ = (id) => document.getElementById(id);
  const list = $('motion-list');
  const WINDOW_MS = 30_000; // chart span, sensor time
  const MAX_POINTS = 600; // windows kept per IMU (30 s at 20 Hz); older ones dropped
  const MAX_MARKS = 32; // events kept per chart; older ones dropped
  const MARK_COLORS = { fall: '#e53e3e', shake: '#d69e2e', tilt: '#805ad5' };
  const charts = new Map(); // imu id → { canvas, caption, points: [{t, a, g}], marks: [{t, kind}] }
  let marks = []; // motion events arrive per agent, not per IMU: drawn on every chart
  let dirty = false;
  let rest = ''; // the motion agent's learned rest orientation, as caption text
  const REST_POLL_MS = 2000;

  function chartOf(id) {
    let c = charts.get(id);
    if (c) return c;
    const { canvas, caption } = edgeloom.canvasFigure(list, `motion ${id}`, 560, 160);
    c = { id, canvas, caption, points: [] };
    charts.set(id, c);
    return c;
  }

  function draw(c) {
    const { canvas, points } = c;
    const ctx = canvas.getContext('2d');
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    if (points.length === 0) return;
    const end = points[points.length - 1].t;
    const x = (t) => w - ((end - t) / WINDOW_MS) * w;
    // |a| on 0..4 g (an impact peaks at 3–4 g), gyro on 0..400 deg/s: both on the same height.
    const ya = (a) => h - (Math.min(a, 4) / 4) * (h - 4) - 2;
    const yg = (g) => h - (Math.min(g, 400) / 400) * (h - 4) - 2;
    for (const [key, y, color] of [
      ['a', ya, '#3182ce'],
      ['g', yg, '#38a169'],
    ]) {
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      let first = true;
      for (const p of points) {
        if (p.t < end - WINDOW_MS) continue;
        if (first) ctx.moveTo(x(p.t), y(p[key]));
        else ctx.lineTo(x(p.t), y(p[key]));
        first = false;
      }
      ctx.stroke();
    }
    // Marks on top of the lines: an impact's spike is at the same place as its mark.
    for (const m of marks) {
      if (m.t < end - WINDOW_MS || m.t > end) continue;
      ctx.fillStyle = MARK_COLORS[m.kind];
      ctx.fillRect(Math.round(x(m.t)) - 2, 0, 5, h);
      ctx.font = '11px system-ui, sans-serif';
      ctx.fillText(m.kind, Math.min(w - 30, Math.round(x(m.t)) + 5), 12);
    }
    const last = points[points.length - 1];
    c.caption.textContent = `${c.id} · |a| ${last.a.toFixed(2)} g (blue, 0–4) · gyro ${last.g.toFixed(0)} deg/s (green, 0–400)${rest}`;
  }

  function onEvent(ev) {
    const p = ev.payload ?? {};
    if (ev.topic.startsWith('sensor/imu/')) {
      const c = chartOf(ev.topic.split('/')[2]);
      const m = p.mean ?? {};
      const g = Math.hypot(m.gx ?? 0, m.gy ?? 0, m.gz ?? 0);
      c.points.push({ t: p.tsMs, a: p.accelMagnitudeG?.max ?? 0, g });
      if (c.points.length > MAX_POINTS) c.points.shift();
    } else if (MARK_COLORS[p.kind] !== undefined) {
      marks.push({ t: p.tsMs, kind: p.kind });
      if (marks.length > MAX_MARKS) marks = marks.slice(-MAX_MARKS);
      // For tests and debugging: the motion events marked so far.
      window.edgeloomMotionMarks = marks.map((x) => ({ ...x }));
    }
    if (!dirty) {
      dirty = true;
      requestAnimationFrame(() => {
        dirty = false;
        for (const c of charts.values()) draw(c);
      });
    }
  }

  async function pollRest() {
    try {
      const { snapshot } = await edgeloom.getJson('/api/stats');
      const m = (snapshot.motion ?? [])[0];
      rest = m?.rest
        ? ` · rest: pitch ${m.restPitchDeg.toFixed(0)}°, roll ${m.restRollDeg.toFixed(0)}° (${m.activity})`
        : m
          ? ` · rest: not learned yet (${m.activity})`
          : '';
      // For tests and debugging: what the motion agent reports.
      window.edgeloomMotionRest = m ?? null;
    } catch {
      // the daemon restarting: the next poll tries again
    }
    setTimeout(pollRest, REST_POLL_MS);
  }

  edgeloom.events(['sensor/imu/+/window', 'agent/+/motion'], onEvent);
  pollRest();
})();
