// Applies each `action/display` event the moment it arrives over SSE (no polling, no animation
// frame wait): the DOM write happens inside the message handler.

(() => {
  const $ = (id) => document.getElementById(id);
  const emoji = $('emoji');
  const label = $('label');
  const wrap = $('confidence-wrap');
  const bar = $('bar');
  const fill = $('fill');
  const pct = $('confidence');
  const text = $('text');
  const conn = $('conn');

  function apply(ev) {
    const a = ev.payload ?? {};
    const emotion = typeof a.emotion === 'string' ? a.emotion : 'no_face';
    const noFace = emotion === 'no_face';
    document.body.dataset.emotion = emotion;
    emoji.textContent = noFace ? a.emoji || '·' : a.emoji || '?';
    label.textContent = noFace ? 'No face' : emotion.replace(/_/g, ' ');
    const c = Math.round(Math.max(0, Math.min(1, Number(a.confidence) || 0)) * 100);
    wrap.hidden = noFace;
    fill.style.width = `${c}%`;
    bar.setAttribute('aria-valuenow', String(c));
    pct.textContent = `${c}%`;
    text.textContent = typeof a.text === 'string' ? a.text : '';
    // For the kiosk test and for debugging: what was shown last, and when (wall clock, ms).
    window.edgeloomDisplay = { id: ev.id, emotion, confidence: c / 100, appliedAtMs: Date.now() };
  }

  edgeloom.events(['action/display'], apply, (state, dropped) => {
    if (state === 'open') {
      conn.textContent = 'connected';
      conn.className = 'conn ok';
    } else if (state === 'reconnecting') {
      conn.textContent = 'reconnecting…';
      conn.className = 'conn';
    } else if (state === 'dropped') {
      conn.textContent = `skipped ${dropped} updates`;
    }
  });
})();
