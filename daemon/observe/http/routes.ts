/** The HTTP server's routes by path: one name per kind of answer, for counting and dispatch. */
import { PAGES } from './dashboard.js';

export type Route =
  | 'healthz'
  | 'metrics'
  | 'stats'
  | 'events'
  | 'camera'
  | 'mic'
  | 'page'
  | 'static'
  | 'other';

/** /api/camera/<id>/frame.jpg */
export const CAMERA_ROUTE = /^\/api\/camera\/([^/]+)\/frame\.jpg$/;

export function routeOf(path: string): Route {
  if (path === '/healthz') return 'healthz';
  if (path === '/metrics') return 'metrics';
  if (path === '/api/stats') return 'stats';
  if (path === '/api/events') return 'events';
  if (CAMERA_ROUTE.test(path)) return 'camera';
  if (path === '/api/mic/levels') return 'mic';
  if (PAGES[path] !== undefined) return 'page';
  if (path.startsWith('/static/') && !path.slice(8).includes('/')) return 'static';
  return 'other';
}
