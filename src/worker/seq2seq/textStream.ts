import type { GenerationUpdate } from '../../protocol/summarize';

/**
 * Turns the sequence shown after each decoder step into {@link GenerationUpdate}s with text deltas. Trailing
 * whitespace and U+FFFD (a byte-level token that is the first part of a multi-byte character decodes to it until
 * the rest arrives) are held back until a later update, so every delta extends the text already sent and the
 * concatenated deltas equal the final text.
 */
export class TextStream {
  private shownIds: readonly number[] = [];
  private sent = '';

  constructor(private readonly decode: (ids: readonly number[]) => string) {}

  /** `ids`: the sequence to show, decoder start token first. */
  update(ids: readonly number[], step: number, done: boolean): GenerationUpdate {
    const continues = this.shownIds.length <= ids.length && this.shownIds.every((id, i) => ids[i] === id);
    // The decoder start token is never "new": it is not generated.
    const newIds = continues ? ids.slice(Math.max(1, this.shownIds.length)) : ids.slice(1);
    this.shownIds = [...ids];
    const text = this.decode(ids);
    const stable = done ? text : text.replace(/[\s\uFFFD]+$/u, '');
    let replace = !continues;
    let delta = '';
    if (!replace) {
      if (stable.startsWith(this.sent)) {
        delta = stable.slice(this.sent.length);
        this.sent = stable;
      } else if (!this.sent.startsWith(stable) || done) replace = true;
    }
    if (replace) this.sent = text;
    return { ids: [...ids], newIds, text, delta, replace, step, done };
  }
}
