/**
 * An agent's action runs: the actions of one decision run in order as one run, outside the
 * agent's turns, so a long cloud call does not hold up the next input. At most `maxInFlight` runs
 * exist per agent; past it the agent's bus handler waits in `room()` (backpressure into the bus
 * queue, whose overflow policy then applies). Every run shares one AbortSignal: an interrupt (a
 * speech start, a "stop" utterance, `forget`) aborts the runs started so far and gives later runs
 * a fresh signal; a stop aborts them for good.
 */
import type { Topic } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import { type EdgeloomError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AgentAction, PublishAction } from './reducer.js';
import type { ToolRegistry } from './tools.js';

export interface ActionRunsOptions {
  readonly bus: EventBus;
  readonly tools: ToolRegistry;
  readonly logger: Logger;
  /** Envelope source and tool-call source: the agent's component name. */
  readonly source: string;
  readonly agentId: string;
  /** Runs in flight at most; the agent's handler waits for room past it. */
  readonly maxInFlight: number;
  /** The agent's counters: failed actions are counted there. */
  readonly counters: { actionErrors: number };
}

export class ActionRuns {
  private readonly running = new Set<Promise<void>>();
  private controller = new AbortController();

  constructor(private readonly o: ActionRunsOptions) {}

  /** Runs in flight. */
  get size(): number {
    return this.running.size;
  }

  /** A fresh signal for the runs of a (re)started agent. */
  reset(): void {
    this.controller = new AbortController();
  }

  /** Run one decision's actions in order, tracked as one in-flight run. */
  launch(actions: readonly AgentAction[]): void {
    const signal = this.controller.signal;
    const run = (async () => {
      for (const action of actions) {
        if (signal.aborted) return;
        await this.runAction(action, signal);
      }
    })();
    const tracked = run.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** Abort the runs started so far; runs launched after this get a fresh signal. */
  interrupt(reason: EdgeloomError): void {
    const c = this.controller;
    this.controller = new AbortController();
    c.abort(reason);
  }

  /** Abort every run, for good (the agent stops). */
  abort(reason: EdgeloomError): void {
    this.controller.abort(reason);
  }

  /** At the bound: the agent's handler waits (`anyEnded`) before it takes the next input. */
  get full(): boolean {
    return this.running.size >= this.o.maxInFlight;
  }

  /** Settles when the runs in flight now have ended (callers loop while `size > 0` for idle). */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.running]);
  }

  /** Settles when one of the runs in flight ends. */
  anyEnded(): Promise<void> {
    return Promise.race(this.running);
  }

  private async runAction(action: AgentAction, signal: AbortSignal): Promise<void> {
    try {
      if (action.kind === 'publish') {
        await publish(this.o.bus, action, this.o.source);
      } else {
        const r = await this.o.tools.execute(action.tool, action.args, { signal, source: this.o.source });
        if (!r.ok) this.o.counters.actionErrors++;
      }
    } catch (err) {
      this.o.counters.actionErrors++;
      this.o.logger.warn({ agent: this.o.agentId, err: toError(err).message }, 'action failed');
    }
  }
}

/** A publish action on the bus: its topic and payload were checked together when it was made. */
function publish<T extends Topic>(bus: EventBus, action: PublishAction<T>, source: string) {
  return bus.publish(action.topic, action.payload, { source });
}
