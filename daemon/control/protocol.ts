/**
 * The local control socket's protocol: one JSON request line per connection, one JSON answer line.
 * The socket (`<storage.dir>/control.sock`, mode 0600) is reachable only by the daemon's user and
 * root, so a request on it is an authenticated origin (`channel: 'cli'`), as a signed MQTT
 * command is: it may loosen a privacy tier, forget, or override a safety pause.
 */
import { join } from 'node:path';

export const CONTROL_SOCKET_NAME = 'control.sock';
/** Longest request line, bytes; a longer one is refused. */
export const MAX_REQUEST_BYTES = 64 * 1024;

export type ControlRequest =
  | { readonly op: 'privacy.show' }
  | { readonly op: 'privacy.set'; readonly scope: string; readonly tier: string }
  | { readonly op: 'privacy.reset'; readonly scope?: string }
  | { readonly op: 'forget'; readonly dry_run?: boolean }
  | { readonly op: 'audit.list'; readonly since_ms?: number; readonly limit?: number }
  | { readonly op: 'audit.verify' }
  | {
      readonly op: 'sensor.pause';
      readonly sensor: string;
      readonly duration_s?: number;
      readonly safety_override?: boolean;
    }
  | { readonly op: 'sensor.resume'; readonly sensor: string }
  /** Push-to-talk (`edgeloom listen`): open the voice assistant's listening window. */
  | { readonly op: 'voice.listen'; readonly seconds?: number }
  /** Turn this connection into an MCP session (`edgeloom mcp`): one answer line, then MCP messages. */
  | { readonly op: 'mcp' };

export type ControlAnswer =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** The socket of the daemon whose store is `storageDir`. */
export function controlSocketPath(storageDir: string): string {
  return join(storageDir, CONTROL_SOCKET_NAME);
}
