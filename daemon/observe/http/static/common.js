// Shared by the dashboard and the display page: the access token travels in the query string
// (EventSource cannot send headers), taken from the page's own URL.

window.edgeloom = (() => {
  const token = new URLSearchParams(location.search).get('token');

  /** `path` with the page's token appended, and optional extra query parameters. */
  function url(path, params) {
    const u = new URL(path, location.origin);
    for (const [k, v] of params ?? []) u.searchParams.append(k, v);
    if (token) u.searchParams.set('token', token);
    return u.pathname + u.search;
  }

  /**
   * An EventSource over /api/events for the given patterns. The browser reconnects by itself
   * (the server sends `retry: 2000`); `onState` hears 'open', 'reconnecting', 'closed' and
   * ('dropped', n) when the server skipped events for this slow client.
   */
  function events(patterns, onEvent, onState) {
    const src = new EventSource(
      url(
        '/api/events',
        patterns.map((p) => ['pattern', p]),
      ),
    );
    src.onmessage = (m) => {
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch {
        return;
      }
      onEvent(ev);
    };
    src.onopen = () => onState?.('open');
    // CLOSED after an error means the server refused the stream (bad pattern, too many clients).
    src.onerror = () => onState?.(src.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    src.addEventListener('dropped', (m) => onState?.('dropped', JSON.parse(m.data).dropped));
    return src;
  }

  async function getJson(path) {
    const r = await fetch(url(path), { cache: 'no-store' });
    if (!r.ok && r.status !== 503) throw new Error(`${path}: HTTP ${r.status}`);
    return r.json();
  }

  /**
   * A <figure> appended to `list`: a canvas of width × height (an image named `label` for screen
   * readers and tests), then `before` elements, then a muted caption. Returns the canvas and caption.
   */
  function canvasFigure(list, label, width, height, before = []) {
    const figure = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', label);
    const caption = document.createElement('figcaption');
    caption.className = 'muted';
    figure.append(...before, canvas, caption);
    list.append(figure);
    return { canvas, caption };
  }

  return { url, events, getJson, canvasFigure };
})();
