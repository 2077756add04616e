/**
 * The agents' directory and lifecycle owner (agent.ts is one agent): create, start, stop, delete
 * agents; find them by id, topic or capability; `forget` all of them.
 */
import { patternMatches } from '../bus/topic-match.js';
import type { Component, ComponentHealth } from '../component.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { Agent, type AgentDeps } from './agent.js';
import type { AgentDefinition, DomainEvent } from './reducer.js';

export interface FindQuery {
  readonly id?: string;
  /** Agents with a subscription matching this concrete topic. */
  readonly topic?: string;
  readonly capability?: string;
}

/**
 * The directory and lifecycle owner: create, start, stop, delete agents; find them by id, topic
 * or capability. As a Component it starts every created agent and stops them in reverse order.
 */
export class AgentRuntime implements Component {
  readonly name = 'agents.runtime';
  private readonly agents = new Map<string, Agent<unknown, DomainEvent>>();

  constructor(private readonly deps: AgentDeps) {}

  create<S, E extends DomainEvent, W = never>(definition: AgentDefinition<S, E, W>): Agent<S, E, W> {
    if (this.agents.has(definition.id)) {
      throw new EdgeloomError(ErrorCode.E_AGENT_EXISTS, `agent '${definition.id}' already exists`, {
        where: this.name,
      });
    }
    const agent = new Agent(definition, {
      ...this.deps,
      logger: this.deps.logger.child({ agent: definition.id }),
    });
    this.agents.set(definition.id, agent as unknown as Agent<unknown, DomainEvent>);
    return agent;
  }

  get(id: string): Agent<unknown, DomainEvent> | undefined {
    return this.agents.get(id);
  }

  list(): Agent<unknown, DomainEvent>[] {
    return [...this.agents.values()];
  }

  find(q: FindQuery): Agent<unknown, DomainEvent>[] {
    return this.list().filter(
      (a) =>
        (q.id === undefined || a.id === q.id) &&
        (q.capability === undefined || a.definition.capabilities.includes(q.capability)) &&
        (q.topic === undefined ||
          a.definition.subscriptions.some((s) => patternMatches(s.pattern, q.topic!))),
    );
  }

  async startAgent(id: string, signal: AbortSignal = new AbortController().signal): Promise<void> {
    await this.require(id).start(signal);
  }

  async stopAgent(id: string): Promise<void> {
    await this.require(id).stop();
  }

  /** Stop the agent, remove it from the directory and delete its stored log and snapshots. */
  async delete(id: string): Promise<void> {
    const agent = this.require(id);
    await agent.stop();
    agent.markDeleted();
    this.agents.delete(id);
    await this.deps.store.delete(id);
  }

  /** `forget` every agent (Agent.forget); returns the stored entries deleted. */
  async forgetAll(): Promise<number> {
    let deleted = 0;
    for (const a of this.agents.values()) deleted += await a.forget();
    return deleted;
  }

  async start(signal: AbortSignal): Promise<void> {
    for (const a of this.agents.values()) await a.start(signal);
  }

  async stop(): Promise<void> {
    for (const a of [...this.agents.values()].reverse()) await a.stop();
    await this.deps.store.close();
  }

  /**
   * Component.idle(): undefined when no agent has a turn or an action in flight, else a promise
   * for the current work. Actions (tool calls) run outside the bus handlers, so without this a
   * speed-0 replay could move the clock while a tool is still publishing.
   */
  idle(): Promise<void> | undefined {
    const busy = [...this.agents.values()].filter((a) => a.busy());
    if (busy.length === 0) return undefined;
    return Promise.all(busy.map((a) => a.idle())).then(() => undefined);
  }

  health(): ComponentHealth {
    const reasons = this.list().flatMap((a) => (a.health().reasons ?? []).map((r) => `${a.id}: ${r}`));
    return { status: reasons.length === 0 ? 'ok' : 'degraded', ...(reasons.length ? { reasons } : {}) };
  }

  private require(id: string): Agent<unknown, DomainEvent> {
    const a = this.agents.get(id);
    if (a === undefined)
      throw new EdgeloomError(ErrorCode.E_AGENT_UNKNOWN, `no agent '${id}'`, { where: this.name });
    return a;
  }
}
