/** The HTTP server's routes by path: one name per kind of answer, for counting and dispatch. */
import type { CameraView } from './camera-view.js';
import { PAGES } from './dashboard.js';
import type { MicLevels } from './mic-levels.js';

export type Route =
  | 'healthz'
  | 'metrics'
  | 'stats'
  | 'events'
  | 'camera'
  | 'camera-stream'
  | 'mic'
  | 'config'
  | 'mcp'
  | 'page'
  | 'static'
  | 'other';

/** /api/camera/<id>/frame.jpg */
export const CAMERA_ROUTE = /^\/api\/camera\/([^/]+)\/frame\.jpg$/;
/** /api/camera/<id>/stream.mjpg */
export const CAMERA_STREAM_ROUTE = /^\/api\/camera\/([^/]+)\/stream\.mjpg$/;

export function routeOf(path: string): Route {
  if (path === '/healthz') return 'healthz';
  if (path === '/metrics') return 'metrics';
  if (path === '/api/stats') return 'stats';
  if (path === '/api/events') return 'events';
  if (CAMERA_ROUTE.test(path)) return 'camera';
  if (CAMERA_STREAM_ROUTE.test(path)) return 'camera-stream';
  if (path === '/api/mic/levels') return 'mic';
  if (path === '/api/config') return 'config';
  if (path === '/mcp') return 'mcp';
  if (PAGES[path] !== undefined) return 'page';
  if (path.startsWith('/static/') && !path.slice(8).includes('/')) return 'static';
  return 'other';
}

/** A complete answer for the server to send. */
export interface Reply {
  readonly code: number;
  readonly type: string;
  readonly body: string | Buffer;
  readonly headers?: Record<string, string>;
}

/** /api/camera/<id>/frame.jpg[?seq=N]: that frame if still kept, else the newest; 404 if none. */
export function cameraReply(cameras: CameraView | undefined, path: string, seqParam: string | null): Reply {
  const id = CAMERA_ROUTE.exec(path)?.[1] ?? '';
  const seq = seqParam === null ? undefined : Number(seqParam);
  const frame = cameras?.frame(id, Number.isSafeInteger(seq) ? seq : undefined);
  if (frame === undefined) {
    return { code: 404, type: 'application/json', body: '{"error":"no frame from this camera"}' };
  }
  return {
    code: 200,
    type: 'image/jpeg',
    body: frame.jpeg,
    headers: { 'X-Frame-Seq': String(frame.seq), 'X-Frame-Size': `${frame.width}x${frame.height}` },
  };
}

/** /api/mic/levels: every microphone's recent levels. */
export function micReply(levels: MicLevels | undefined): Reply {
  return jsonReply(levels?.snapshot() ?? { periodMs: 0, mics: {}, refused: 0 });
}

export function jsonReply(body: unknown): Reply {
  return { code: 200, type: 'application/json; charset=utf-8', body: JSON.stringify(body) };
}
