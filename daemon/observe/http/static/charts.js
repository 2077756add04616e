// A small line chart on <canvas>: no library, nothing from the network.

window.edgeloomCharts = (() => {
  const COLORS = ['#3182ce', '#dd6b20', '#38a169', '#d53f8c', '#805ad5', '#718096'];

  /**
   * Draw `series` ([{label, values: number[] (NaN = gap)}]) over a shared x axis of `points`
   * samples, y from 0 to a rounded max. The legend element gets one swatch per series.
   */
  function draw(canvas, legend, series, points) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || canvas.width;
    const h = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
    if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const fg = getComputedStyle(document.body).color;
    const left = 44;
    const bottom = h - 16;
    const top = 8;
    let max = 0;
    for (const s of series) for (const v of s.values) if (Number.isFinite(v) && v > max) max = v;
    max = niceMax(max);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = fg;
    ctx.strokeStyle = fg;
    ctx.globalAlpha = 0.15;
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = bottom - ((bottom - top) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(w, y);
      ctx.stroke();
    }
    ctx.globalAlpha = 0.7;
    for (let i = 0; i <= 4; i++) {
      const y = bottom - ((bottom - top) * i) / 4;
      ctx.fillText(format((max * i) / 4), 2, y + 4);
    }
    ctx.globalAlpha = 1;
    const dx = (w - left) / Math.max(1, points - 1);
    series.forEach((s, k) => {
      ctx.strokeStyle = COLORS[k % COLORS.length];
      ctx.lineWidth = 2;
      ctx.beginPath();
      let pen = false;
      const offset = points - s.values.length;
      s.values.forEach((v, i) => {
        if (!Number.isFinite(v)) {
          pen = false;
          return;
        }
        const x = left + (offset + i) * dx;
        const y = bottom - (max === 0 ? 0 : (v / max) * (bottom - top));
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
      });
      ctx.stroke();
    });
    if (legend) {
      legend.replaceChildren(
        ...series.map((s, k) => {
          const span = document.createElement('span');
          const sw = document.createElement('i');
          sw.style.background = COLORS[k % COLORS.length];
          const last = s.values.length > 0 ? s.values[s.values.length - 1] : Number.NaN;
          span.append(sw, `${s.label} ${Number.isFinite(last) ? format(last) : '–'}`);
          return span;
        }),
      );
    }
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function format(v) {
    if (v >= 100) return v.toFixed(0);
    if (v >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  return { draw };
})();
