// The camera view: for each face inference, the very frame it analysed (fetched by sequence
// number from /api/camera/<id>/frame.jpg) with its boxes, emotion and score drawn on it. So the
// view refreshes at the analysed rate; while a frame is still loading, newer inferences are
// skipped (counted on the page), never queued.

(() => {
  const $ = (id) => document.getElementById(id);
  const section = $('cameras');
  const list = $('camera-list');
  const toggle = $('show-cameras');
  const views = new Map(); // camera id → { canvas, ctx, caption, busy, skipped, shown }
  let source;

  function viewOf(id) {
    let v = views.get(id);
    if (v) return v;
    const { canvas, caption } = edgeloom.canvasFigure(list, `camera ${id}`, 640, 360);
    v = { id, canvas, ctx: canvas.getContext('2d'), caption, busy: false, skipped: 0, shown: 0 };
    views.set(id, v);
    return v;
  }

  function draw(v, img, inference, receivedAtMs) {
    const { canvas, ctx } = v;
    if (canvas.width !== img.naturalWidth || canvas.height !== img.naturalHeight) {
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
    }
    ctx.drawImage(img, 0, 0);
    // Boxes are in source-frame pixels; the canvas is the frame's size.
    const sx = canvas.width / (inference.width || canvas.width);
    const sy = canvas.height / (inference.height || canvas.height);
    const line = Math.max(2, Math.round(canvas.width / 200));
    ctx.lineWidth = line;
    ctx.font = `${Math.max(12, Math.round(canvas.width / 32))}px system-ui, sans-serif`;
    ctx.textBaseline = 'bottom';
    for (const f of inference.faces ?? []) {
      const b = f.box ?? {};
      const x = b.x * sx;
      const y = b.y * sy;
      ctx.strokeStyle = '#00e676';
      ctx.strokeRect(x, y, b.width * sx, b.height * sy);
      const p = f.probabilities?.[f.emotion] ?? f.score ?? 0;
      const label = `${f.emotion} ${p.toFixed(2)}`;
      const w = ctx.measureText(label).width + 2 * line;
      const h = parseInt(ctx.font, 10) + line;
      const ty = Math.max(h, y);
      ctx.fillStyle = '#00e676';
      ctx.fillRect(x - line / 2, ty - h, w, h);
      ctx.fillStyle = '#000';
      ctx.fillText(label, x + line, ty);
    }
    v.shown++;
    const faces = (inference.faces ?? []).length;
    v.caption.textContent = `${v.id} · frame ${inference.frameSeq} · ${faces} face${faces === 1 ? '' : 's'}${v.skipped ? ` · ${v.skipped} skipped` : ''}`;
    // For tests and debugging: the last frame drawn per camera.
    window.edgeloomCameras = window.edgeloomCameras ?? {};
    window.edgeloomCameras[v.id] = {
      frameSeq: inference.frameSeq,
      faces: inference.faces ?? [],
      shown: v.shown,
      // From the inference event's arrival to its frame drawn, ms (page clock).
      eventToDrawMs: performance.now() - receivedAtMs,
    };
  }

  function onInference(ev) {
    const id = ev.topic.split('/')[2];
    const inference = ev.payload ?? {};
    if (!id || typeof inference.frameSeq !== 'number') return;
    const v = viewOf(id);
    if (v.busy) {
      v.skipped++;
      return;
    }
    v.busy = true;
    const receivedAtMs = performance.now();
    const img = new Image();
    img.onload = () => {
      v.busy = false;
      draw(v, img, inference, receivedAtMs);
    };
    img.onerror = () => {
      v.busy = false; // the frame aged out or the camera has none yet; the next inference retries
    };
    img.src = edgeloom.url(`/api/camera/${encodeURIComponent(id)}/frame.jpg`, [
      ['seq', String(inference.frameSeq)],
    ]);
  }

  function setShown(on) {
    section.classList.toggle('collapsed', !on);
    list.hidden = !on;
    if (on && !source) source = edgeloom.events(['inference/face/+'], onInference);
    if (!on && source) {
      source.close();
      source = undefined;
    }
  }
  toggle.addEventListener('change', () => setShown(toggle.checked));
  setShown(toggle.checked);
})();
