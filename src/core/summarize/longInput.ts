/**
 * Summaries of inputs longer than a model can read: cut the text on its structure (sections, then paragraphs and
 * list items, then sentences, then words) into parts that fit, summarise each part, then summarise the joined part
 * summaries, again in parts if they still do not fit. Pure orchestration: the model is a function, so this runs
 * in the worker, on the host, or in tests with a fake.
 */
import { splitSentences } from './sentences';
import type { PartRequest } from '../../protocol/summarize';

export type { PartRequest } from '../../protocol/summarize';

/** A part of a text: `text === source.slice(start, end)`. */
export interface TextPart {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/** Token counts of texts as model input (special tokens and any prefix included). */
export type CountTokens = (texts: readonly string[]) => Promise<readonly number[]> | readonly number[];

export type SummarizePart = (text: string, signal: AbortSignal | undefined, request: PartRequest) => Promise<string>;

export interface LongSummaryProgress {
  /** 1 for the parts of the input, 2 for the parts of the joined summaries, … */
  readonly round: number;
  /** Parts finished in this round and parts in it. */
  readonly done: number;
  readonly total: number;
  readonly message: string;
  /** The summary of the part that just finished (absent for the final call). */
  readonly partSummary?: string;
  /** Range of that part in this round's input. */
  readonly partRange?: { readonly start: number; readonly end: number };
}

export interface LongSummaryOptions {
  /** Longest model input in tokens, as `countTokens` counts. */
  readonly maxInputTokens: number;
  readonly countTokens: CountTokens;
  readonly summarizePart: SummarizePart;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: LongSummaryProgress) => void;
  /** Rounds of part summaries before the final call; after that the final input is cut by the model. Default 4. */
  readonly maxRounds?: number;
  /** Joins part summaries. Default a blank line, so the next round can split on paragraphs. */
  readonly separator?: string;
}

export interface LongSummaryRound {
  readonly parts: readonly TextPart[];
  readonly summaries: readonly string[];
}

export interface LongSummaryResult {
  readonly text: string;
  /** The part rounds that ran before the final call (empty when the input fitted at once). */
  readonly rounds: readonly LongSummaryRound[];
  /** True when the final input still did not fit and the model read only its beginning. */
  readonly truncated: boolean;
}

/**
 * Summarises `text` of any length with a model that reads at most `maxInputTokens`.
 *
 * @example
 *   const r = await summarizeLong(doc, {
 *     maxInputTokens: 1024,
 *     countTokens: (texts) => model.countInputTokens(texts),
 *     summarizePart: async (part) => (await model.generate(part, {})).text,
 *     onProgress: (p) => console.log(p.message),
 *   });
 */
export async function summarizeLong(text: string, options: LongSummaryOptions): Promise<LongSummaryResult> {
  const { signal, onProgress, summarizePart } = options;
  const maxRounds = options.maxRounds ?? 4;
  const separator = options.separator ?? '\n\n';
  const rounds: LongSummaryRound[] = [];
  let input = text;
  if (input.trim() === '') return { text: '', rounds, truncated: false };
  let tokens = (await options.countTokens([input]))[0]!;
  for (let round = 1; ; round++) {
    signal?.throwIfAborted();
    const fits = tokens <= options.maxInputTokens;
    if (fits || round > maxRounds) {
      onProgress?.({ round, done: 0, total: 1, message: rounds.length === 0 ? 'Summarising' : 'Summarising the part summaries' });
      const out = await summarizePart(input, signal, { round, part: 1, parts: 1, final: true });
      signal?.throwIfAborted();
      onProgress?.({ round, done: 1, total: 1, message: 'Done' });
      return { text: out.trim(), rounds, truncated: !fits };
    }
    const parts = await splitForModel(input, options.maxInputTokens, options.countTokens);
    if (parts.length <= 1) {
      // The counts said it does not fit but no cut helps (one huge word): let the model cut it.
      const out = await summarizePart(input, signal, { round, part: 1, parts: 1, final: true });
      return { text: out.trim(), rounds, truncated: true };
    }
    const summaries: string[] = [];
    for (const [i, part] of parts.entries()) {
      signal?.throwIfAborted();
      onProgress?.({ round, done: i, total: parts.length, message: `Summarising part ${i + 1} of ${parts.length}` });
      const s = (await summarizePart(part.text, signal, { round, part: i + 1, parts: parts.length, final: false })).trim();
      summaries.push(s);
      onProgress?.({ round, done: i + 1, total: parts.length, message: `Summarised part ${i + 1} of ${parts.length}`, partSummary: s, partRange: { start: part.start, end: part.end } });
    }
    rounds.push({ parts, summaries });
    const joined = summaries.filter((s) => s !== '').join(separator);
    const joinedTokens = (await options.countTokens([joined]))[0]!;
    if (joined === '' || joinedTokens > tokens * 0.9) {
      // Summaries about as long as their input: further rounds would not converge.
      const out = joined === '' ? '' : await summarizePart(joined, signal, { round: round + 1, part: 1, parts: 1, final: true });
      return { text: out.trim(), rounds, truncated: joinedTokens > options.maxInputTokens };
    }
    input = joined;
    tokens = joinedTokens;
  }
}

interface Unit {
  readonly start: number;
  readonly end: number;
  readonly section: number;
  readonly block: number;
  tokens: number;
}

/**
 * Cuts `text` into consecutive parts of at most `maxTokens` tokens each, keeping sections, then paragraphs / list
 * items, then sentences together where they fit, and merging neighbours while they fit. Parts cover the text in
 * order; the whitespace between them is left out.
 */
export async function splitForModel(text: string, maxTokens: number, countTokens: CountTokens): Promise<TextPart[]> {
  const sentences = splitSentences(text);
  if (sentences.length === 0) return [];
  const [overhead] = await countTokens(['']);
  let budget = Math.max(1, maxTokens - (overhead ?? 0));
  let units: Unit[] = sentences.map((s) => ({ start: s.start, end: s.end, section: s.section, block: s.block, tokens: 0 }));
  const counts = await countTokens(units.map((u) => text.slice(u.start, u.end)));
  units.forEach((u, i) => (u.tokens = counts[i]! - (overhead ?? 0)));
  units = await splitOversized(text, units, budget, countTokens, overhead ?? 0);

  for (let attempt = 0; attempt < 4; attempt++) {
    const groups = pack(units, budget, 0);
    const parts = groups.map((g) => ({ text: text.slice(g[0]!.start, g.at(-1)!.end), start: g[0]!.start, end: g.at(-1)!.end }));
    const real = await countTokens(parts.map((p) => p.text));
    if (real.every((n) => n <= maxTokens)) return parts;
    // Token counts are not quite additive (merges across sentence edges); pack a little tighter.
    budget = Math.max(1, Math.floor(budget * 0.9));
  }
  return pack(units, budget, 0).map((g) => ({ text: text.slice(g[0]!.start, g.at(-1)!.end), start: g[0]!.start, end: g.at(-1)!.end }));
}

const LEVELS: readonly ((u: Unit) => number)[] = [(u) => u.section, (u) => u.block];

/** Groups units at `level` (section, block, then single units), recursing into groups that do not fit, then merges neighbours. */
function pack(units: readonly Unit[], budget: number, level: number): Unit[][] {
  const key = LEVELS[level];
  const groups: Unit[][] = [];
  if (key) {
    for (const u of units) {
      const last = groups.at(-1);
      if (last && key(last[0]!) === key(u)) last.push(u);
      else groups.push([u]);
    }
  } else groups.push(...units.map((u) => [u]));
  const items: Unit[][] = [];
  for (const g of groups) {
    if (sum(g) <= budget || !key) items.push(g);
    else items.push(...pack(g, budget, level + 1));
  }
  const merged: Unit[][] = [];
  for (const item of items) {
    const last = merged.at(-1);
    if (last && sum(last) + sum(item) <= budget) last.push(...item);
    else merged.push([...item]);
  }
  return merged;
}

function sum(units: readonly Unit[]): number {
  let n = 0;
  for (const u of units) n += u.tokens;
  return n;
}

/** Cuts units longer than the budget at word boundaries (by proportion of characters), then recounts. */
async function splitOversized(text: string, units: Unit[], budget: number, countTokens: CountTokens, overhead: number): Promise<Unit[]> {
  for (let pass = 0; pass < 4 && units.some((u) => u.tokens > budget); pass++) {
    const next: Unit[] = [];
    const pending: Unit[] = [];
    for (const u of units) {
      if (u.tokens <= budget) {
        next.push(u);
        continue;
      }
      const pieces = Math.ceil((u.tokens / budget) * 1.15);
      const width = Math.ceil((u.end - u.start) / pieces);
      let s = u.start;
      while (s < u.end) {
        let e = Math.min(u.end, s + width);
        if (e < u.end) {
          const space = text.lastIndexOf(' ', e);
          if (space > s + width / 2) e = space;
        }
        const piece: Unit = { start: s, end: e, section: u.section, block: u.block, tokens: 0 };
        next.push(piece);
        pending.push(piece);
        s = e;
        while (s < u.end && /\s/u.test(text[s]!)) s++;
      }
    }
    const counts = await countTokens(pending.map((u) => text.slice(u.start, u.end)));
    pending.forEach((u, i) => (u.tokens = counts[i]! - overhead));
    units = next;
  }
  return units;
}
