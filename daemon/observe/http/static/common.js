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

  return { url, events, getJson };
})();
