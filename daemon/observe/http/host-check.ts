/**
 * The `Host` check against DNS rebinding: a page on `evil.example` whose name is re-pointed at
 * 127.0.0.1 is, for the browser, same-origin with the daemon; its requests then carry
 * `Host: evil.example`. Only names the daemon answers to are served (RFC 9110 §7.2 makes Host
 * mandatory in HTTP/1.1; a browser always sends it):
 *
 * - an IP address literal (a rebinding needs a name the attacker controls);
 * - `localhost` and names under `.localhost`, which resolve to loopback only (RFC 6761 §6.3);
 * - the machine's host name and `<hostname>.local` (mDNS), the listen host when it is a name,
 *   and the configured `http.allowed_hosts`.
 *
 * A request without a Host header (HTTP/1.0 tools, not browsers) is served.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';

/** The set of names served: `configured` plus the machine's own names; lower case. */
export function servedHostNames(configured: readonly string[], listenHost: string): Set<string> {
  const own = hostname().toLowerCase();
  const names = [...configured, own, `${own}.local`, ...(isIP(listenHost) === 0 ? [listenHost] : [])];
  return new Set(names.map((n) => n.toLowerCase().replace(/\.$/, '')).filter((n) => n !== ''));
}

/** The name in a Host header value (`name:port`, `[v6]:port`), lower case, no trailing dot. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') >= 0 ? h.indexOf(']') : undefined);
  const m = /^(.*?)(:\d*)?$/.exec(h);
  return (m?.[1] ?? h).replace(/\.$/, '');
}

export function hostAllowed(header: string | undefined, served: ReadonlySet<string>): boolean {
  if (header === undefined) return true;
  const name = hostName(header);
  if (isIP(name) !== 0) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return served.has(name);
}
