/**
 * Maps for tests of the bus's own mechanics (queues, matching, delivery, request/response): any
 * topic carries any payload and any RPC any request, so those tests can use scratch topics
 * (`rpc/x`, `device/+/sensor/#`) without touching the daemon's own maps (daemon/bus/topics.ts,
 * rpc.ts), which production code and the type tests (test/unit/bus-types.test.ts) use.
 */
import { Bus, type BusOptions } from '../../daemon/bus/bus.js';
import type { Rpc } from '../../daemon/bus/rpc.js';

export interface ScratchTopics {
  readonly [topic: string]: unknown;
}
export interface ScratchRpcs {
  readonly [topic: string]: Rpc<unknown, unknown>;
}
export type ScratchBus = Bus<ScratchTopics, ScratchRpcs>;

export function scratchBus(options: BusOptions): ScratchBus {
  return new Bus<ScratchTopics, ScratchRpcs>(options);
}

/**
 * The same bus seen through the scratch maps: for tests that drive a production component (typed
 * by the daemon's maps) with scratch topics, such as an agent counting numbers on `rpc/count/+`.
 */
export function asScratch(bus: Bus): ScratchBus {
  return bus as unknown as ScratchBus;
}
