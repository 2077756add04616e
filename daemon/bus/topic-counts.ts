/**
 * Events published per topic, counted where they are published (the bus) instead of by a `#`
 * subscription. The tap it replaces cost a whole delivery per event (envelope, queue, drain turn,
 * handler) on every topic, as much as a real subscriber's, for what is one Map increment; it also
 * kept every topic "matched", so a publish nobody listens to was never free.
 *
 * Bound: `maxTopics` names (default 256, what a dashboard table can show); past it a new topic is
 * folded into `other` and no name is ever evicted (a counter that reset would read as a rate drop).
 */
export interface TopicCountsView {
  /** Every counted topic with its total since start, in first-seen order. */
  entries(): IterableIterator<[string, number]>;
  /** Events on topics past the bound, folded together. */
  readonly other: number;
}

export class TopicCounts implements TopicCountsView {
  private readonly totals = new Map<string, number>();
  private otherTotal = 0;

  constructor(private readonly maxTopics = 256) {}

  /** One event on `topic`. */
  count(topic: string): void {
    const n = this.totals.get(topic);
    if (n !== undefined) this.totals.set(topic, n + 1);
    else if (this.totals.size < this.maxTopics) this.totals.set(topic, 1);
    else this.otherTotal++;
  }

  entries(): IterableIterator<[string, number]> {
    return this.totals.entries();
  }

  get other(): number {
    return this.otherTotal;
  }
}
