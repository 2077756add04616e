import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether a request carries the token: `Authorization: Bearer <token>` (scripts, Prometheus)
 * or `?token=<token>` (a browser opening the dashboard, and EventSource, which cannot set
 * headers). An empty configured token means no authentication (loopback only; the config
 * loader and HttpServer refuse a non-loopback host without one).
 */
export function isAuthorised(token: string, headers: IncomingHttpHeaders, query: URLSearchParams): boolean {
  if (token === '') return true;
  const header = headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m !== null && sameSecret(m[1]!, token)) return true;
  }
  const q = query.get('token');
  return q !== null && sameSecret(q, token);
}

/** Constant-time comparison; hashing first makes the lengths equal so the length does not leak either. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
