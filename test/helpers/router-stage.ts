/**
 * The router stage on a real bus with the system clock, configured like the daemon does (loadConfig
 * with overrides, no environment), and a record of what it publishes: decisions, the local face and
 * transcript inferences (their ids), and the cloud refinements on their `…/refined` topics.
 */
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { FaceInference, RouteDecision, Transcript } from '../../daemon/bus/topics.js';
import { type ConfigOverrides, loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { RouterStage } from '../../daemon/router/router.js';
import { openStore, type Store } from '../../daemon/storage/store.js';
import { SystemClock } from '../../daemon/util/clock.js';

export interface RouterHarness {
  readonly bus: Bus;
  readonly router: RouterStage;
  readonly decisions: Envelope<RouteDecision>[];
  /** Ids of face inferences on `inference/face/+` (the local results). */
  readonly faceIds: string[];
  /** What `inference/face/+/refined` carried. */
  readonly faceRefinements: Envelope<FaceInference>[];
  /** Ids of transcripts on `inference/stt/+` (the local results). */
  readonly transcriptIds: string[];
  /** What `inference/stt/+/refined` carried. */
  readonly transcriptRefinements: Envelope<Transcript>[];
  /** Stop the router, then close the bus. */
  stop(): Promise<void>;
}

/**
 * Start a router stage; `storage` is an open store or a directory to open one in (opened here,
 * the way the daemon's storage owns it, and closed by `stop`).
 */
export async function startRouterStage(
  overrides: ConfigOverrides,
  storage: Store | string,
): Promise<RouterHarness> {
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const config = loadConfig({ env: {}, overrides });
  const store = typeof storage === 'string' ? await openStore(storage) : storage;
  const router = new RouterStage({
    bus,
    clock,
    logger,
    config: { router: config.router, cloud: config.cloud, sensors: config.sensors },
    storage: store,
  });
  await router.start(new AbortController().signal);
  const h: RouterHarness = {
    bus,
    router,
    decisions: [],
    faceIds: [],
    faceRefinements: [],
    transcriptIds: [],
    transcriptRefinements: [],
    stop: async () => {
      await router.stop();
      await bus.close();
      if (store !== storage) await store.close();
    },
  };
  bus.subscribe('router/decision', (e) => void h.decisions.push(e as Envelope<RouteDecision>), {
    component: 'test-decisions',
  });
  // Local results by id, cloud refinements whole.
  const record = <T>(pattern: string, into: (env: Envelope<T>) => void) =>
    bus.subscribe(pattern, (e) => into(e as Envelope<T>), { component: `test-${pattern}` });
  record('inference/face/+', (e) => h.faceIds.push(e.id));
  record<FaceInference>('inference/face/+/refined', (e) => h.faceRefinements.push(e));
  record('inference/stt/+', (e) => h.transcriptIds.push(e.id));
  record<Transcript>('inference/stt/+/refined', (e) => h.transcriptRefinements.push(e));
  return h;
}
