/**
 * prom-client's process_* and nodejs_* families (CPU, RSS, heap, external memory, fds, active
 * resources, GC): the names every Node dashboard already knows. All of collectDefaultMetrics but
 * its event-loop lag, which runs a monitorEventLoopDelay timer of its own that cannot be stopped
 * or shared: the nodejs_eventloop_lag_* families here read a window of the process's one sampler
 * (util/loop-delay.ts) instead, each scrape the delays since the last one, as prom-client's did.
 *
 * Values are the sampler's lateness past each due time (the real stall), where prom-client's
 * histogram also counted the 100 ms sampling period itself: p50 read ~0.1 s on an idle daemon.
 */
import { createRequire } from 'node:module';
import { Gauge, type Registry } from 'prom-client';
import type { LoopDelayReader } from '../../util/loop-delay.js';

type DefaultMetric = (registry: Registry, config: Record<string, unknown>) => void;

const require = createRequire(import.meta.url);

/**
 * prom-client 15's default metrics (its lib/defaultMetrics.js) less `eventLoopLag`, by module.
 * processResources needs process.getActiveResourcesInfo, which every supported Node has.
 */
const DEFAULT_METRICS = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

/** The delay figures of one scrape, from the histogram's ns to the families' seconds. */
const LAG_FAMILIES: readonly [string, string, (h: LoopDelayReader['histogram']) => number][] = [
  ['nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.', (h) => h.min],
  ['nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.', (h) => h.max],
  ['nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.', (h) => h.mean],
  [
    'nodejs_eventloop_lag_stddev_seconds',
    'The standard deviation of the recorded event loop delays.',
    (h) => h.stddev,
  ],
  [
    'nodejs_eventloop_lag_p50_seconds',
    'The 50th percentile of the recorded event loop delays.',
    (h) => h.percentile(50),
  ],
  [
    'nodejs_eventloop_lag_p90_seconds',
    'The 90th percentile of the recorded event loop delays.',
    (h) => h.percentile(90),
  ],
  [
    'nodejs_eventloop_lag_p99_seconds',
    'The 99th percentile of the recorded event loop delays.',
    (h) => h.percentile(99),
  ],
];

/**
 * Register the families on `registry`. `window()` is the reader to take each scrape's delays from
 * (opened on the first scrape by the caller); its histogram is reset after every scrape.
 */
export function nodeFamilies(registry: Registry, window: () => LoopDelayReader): void {
  for (const name of DEFAULT_METRICS) {
    (require(`prom-client/lib/metrics/${name}.js`) as DefaultMetric)(registry, {});
  }
  // prom-client's own shape: the first family's collect sets them all (registered first, so its
  // collect runs before the others are read), then resets the window. A scrape with no sample
  // since the last (two within 100 ms) keeps the values before.
  let gauges: Gauge[] = [];
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds (a setImmediate scheduled at the scrape).',
    registers: [registry],
    async collect() {
      const h = window().histogram;
      if (h.count > 0) {
        for (const [i, [, , read]] of LAG_FAMILIES.entries()) gauges[i]?.set(read(h) / 1e9);
        h.reset();
      }
      const start = process.hrtime.bigint();
      await new Promise((resolve) => setImmediate(resolve));
      this.set(Number(process.hrtime.bigint() - start) / 1e9);
    },
  });
  gauges = LAG_FAMILIES.map(([name, help]) => new Gauge({ name, help, registers: [registry] }));
}
