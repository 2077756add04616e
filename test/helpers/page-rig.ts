/**
 * What the page tests share: a bus, a stats collector and the real HttpServer on a free loopback
 * port, with headless Chromium, started in order and stopped in reverse. Components the server
 * reads (the camera view, the mic levels) are passed as `parts`: started before the server and
 * stopped after it. Plus the pixels of a screenshot, for checks by what was painted.
 */
import sharp from 'sharp';
import { Bus } from '../../daemon/bus/bus.js';
import type { Component } from '../../daemon/component.js';
import { silentLogger } from '../../daemon/log.js';
import { HttpServer, type HttpServerOptions } from '../../daemon/observe/http/server.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import type { StatsProviders } from '../../daemon/observe/stats-snapshot.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { HeadlessChromium } from './chromium.js';

export interface PageRig {
  readonly bus: Bus;
  readonly stats: StatsCollector;
  readonly server: HttpServer;
  readonly browser: HeadlessChromium;
  close(): Promise<void>;
}

export interface PageRigOptions {
  readonly providers?: StatsProviders;
  /** Stats period, ms (default 500). */
  readonly statsIntervalMs?: number;
  readonly parts?: readonly Component[];
  /** HttpServer options besides bus, stats, clock, logger and port. */
  readonly server?: Partial<Omit<HttpServerOptions, 'bus' | 'stats' | 'clock' | 'logger' | 'port'>>;
}

/** A bus on wall time with a silent logger, for a page test to build its parts on. */
export function pageBus(): Bus {
  return new Bus({ clock: new SystemClock(), logger: silentLogger() });
}

export async function startPageRig(bus: Bus, o: PageRigOptions = {}): Promise<PageRig> {
  const clock = new SystemClock();
  const logger = silentLogger();
  const stats = new StatsCollector({
    clock,
    logger,
    bus,
    intervalMs: o.statsIntervalMs ?? 500,
    providers: o.providers ?? {},
  });
  const server = new HttpServer({ bus, stats, clock, logger, port: 0, ...o.server });
  const parts = o.parts ?? [];
  await stats.start();
  for (const p of parts) await p.start(new AbortController().signal);
  await server.start(new AbortController().signal);
  const browser = await HeadlessChromium.launch();
  return {
    bus,
    stats,
    server,
    browser,
    async close() {
      await browser.close();
      await server.stop();
      for (const p of [...parts].reverse()) await p.stop();
      await stats.stop();
      await bus.close();
    },
  };
}

/** A PNG (a screenshot) as 8-bit RGB pixels, row-major. */
export function rgbPixels(png: Buffer): Promise<{ data: Buffer; info: { width: number; height: number } }> {
  return sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}
