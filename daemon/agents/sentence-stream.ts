/**
 * Cuts a streamed answer into sentences as the fragments arrive, so the first sentence can be
 * spoken while the model still writes the rest. A sentence ends at `.`, `!`, `?` (or `…`, `;`,
 * a newline) followed by white space; what remains at the end is the last sentence.
 */

/**
 * Longest text held waiting for a sentence end, characters. Policy past it: the text so far is
 * spoken as one piece at the last space (a model that never ends a sentence still gets heard).
 */
export const MAX_SENTENCE_CHARS = 400;

const END = /[.!?…;](?=\s)|\n/;

export class SentenceStream {
  private buffer = '';
  /** Everything pushed so far (the final answer must begin with it). */
  private received = '';
  private emitted = 0;

  constructor(private readonly onSentence: (sentence: string, last: boolean) => void) {}

  /** Sentences emitted so far. */
  get count(): number {
    return this.emitted;
  }

  get text(): string {
    return this.received;
  }

  push(fragment: string): void {
    this.received += fragment;
    this.buffer += fragment;
    for (;;) {
      const m = END.exec(this.buffer);
      if (m !== null) {
        this.emit(this.buffer.slice(0, m.index + m[0].length));
        this.buffer = this.buffer.slice(m.index + m[0].length);
        continue;
      }
      if (this.buffer.length <= MAX_SENTENCE_CHARS) return;
      const cut = this.buffer.lastIndexOf(' ', MAX_SENTENCE_CHARS);
      const at = cut > 0 ? cut : MAX_SENTENCE_CHARS;
      this.emit(this.buffer.slice(0, at));
      this.buffer = this.buffer.slice(at);
    }
  }

  /**
   * The answer is complete: `full` is its whole text (the reply's, authoritative when fragments were
   * lost on the way); what was not yet pushed is pushed, and the rest is the last sentence.
   */
  finish(full: string): void {
    if (full.startsWith(this.received)) this.push(full.slice(this.received.length));
    this.emit(this.buffer, true);
    this.buffer = '';
  }

  private emit(raw: string, last = false): void {
    const sentence = raw.replace(/\s+/g, ' ').trim();
    if (sentence === '' || !/[\p{L}\p{N}]/u.test(sentence)) return;
    this.emitted++;
    this.onSentence(sentence, last);
  }
}
