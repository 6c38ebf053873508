import { forEachPassageTerm } from './passageText';
import { TopK, type Scored } from './topK';

export interface Bm25Params {
  /** Term-frequency saturation; default 1.2. */
  readonly k1?: number;
  /** Length normalisation; default 0.75. */
  readonly b?: number;
}


const TF_BITS = 8;
const TF_MAX = (1 << TF_BITS) - 1;
/** Documents are numbered below 2^23 so that `doc << 8 | tf` stays a small integer (V8 SMI). */
export const BM25_MAX_DOCS = 1 << 23;

/**
 * Okapi BM25 over documents numbered 0, 1, 2, … (the index uses one document per distinct chunk text).
 *
 *   score(d, q) = Σ_{t ∈ q, distinct} idf(t) · tf(t,d) · (k1 + 1) / (tf(t,d) + k1 · (1 − b + b · |d| / avgdl))
 *   idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))           (Lucene's non-negative form)
 *
 * N, df and avgdl count live documents only. A document is added once, with its text, and then switched live or
 * dead as chunks referencing it appear and disappear; dead documents keep their postings (so reviving costs
 * nothing) and are skipped when scoring. tf is capped at 255.
 */
export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  private readonly termIds = new Map<string, number>();
  /** postings[termId] = [doc << 8 | tf, …] in increasing doc order. */
  private readonly postings: number[][] = [];
  private lengths = new Float32Array(1024);
  private live = new Uint8Array(1024);
  private docCount = 0;
  private liveDocs = 0;
  private liveLength = 0;
  private scratch = new Float32Array(0);
  /** Per-term counts of the document being added (all zero between calls). */
  private tf = new Uint16Array(1024);
  private readonly touched: number[] = [];

  constructor(params: Bm25Params = {}) {
    this.k1 = params.k1 ?? 1.2;
    this.b = params.b ?? 0.75;
  }

  /** Number of documents added (live or not). */
  get size(): number {
    return this.docCount;
  }

  get liveCount(): number {
    return this.liveDocs;
  }

  get averageLength(): number {
    return this.liveDocs > 0 ? this.liveLength / this.liveDocs : 0;
  }

  /** Adds document number `doc` (must be the next number) with its text; it starts dead. */
  add(doc: number, text: string): void {
    if (doc !== this.docCount) throw new Error(`BM25 documents are added in order: expected ${this.docCount}, got ${doc}`);
    if (doc >= BM25_MAX_DOCS) throw new Error(`the lexical index holds at most ${BM25_MAX_DOCS} distinct passages`);
    this.ensure(doc + 1);
    const touched = this.touched;
    touched.length = 0;
    let length = 0;
    forEachPassageTerm(text, (term) => {
      let id = this.termIds.get(term);
      if (id === undefined) {
        id = this.postings.length;
        this.termIds.set(term, id);
        this.postings.push([]);
        if (id >= this.tf.length) {
          const tf = new Uint16Array(this.tf.length * 2);
          tf.set(this.tf);
          this.tf = tf;
        }
      }
      if (this.tf[id] === 0) touched.push(id);
      if (this.tf[id]! < TF_MAX) this.tf[id]!++;
      length++;
    });
    for (const id of touched) {
      this.postings[id]!.push((doc << TF_BITS) | this.tf[id]!);
      this.tf[id] = 0;
    }
    this.lengths[doc] = length;
    this.docCount++;
  }

  /** Adds document number `doc` from stored statistics: its length now, its postings through {@link addPostings}. */
  addStored(doc: number, length: number): void {
    if (doc !== this.docCount) throw new Error(`BM25 documents are added in order: expected ${this.docCount}, got ${doc}`);
    if (doc >= BM25_MAX_DOCS) throw new Error(`the lexical index holds at most ${BM25_MAX_DOCS} distinct passages`);
    this.ensure(doc + 1);
    this.lengths[doc] = length;
    this.docCount++;
  }

  /** Sets the length of a stored document before it goes live. */
  setLength(doc: number, length: number): void {
    if (this.live[doc] === 1) throw new Error('cannot change the length of a live document');
    this.lengths[doc] = length;
  }

  /**
   * Appends stored postings of `term`: `count` (local passage u32, tf u16) pairs at `offset` of `data`; `docOf` maps a
   * local passage to its document number, or -1 to skip it.
   */
  addPostings(term: string, data: Buffer, offset: number, count: number, docOf: (local: number) => number): void {
    let id = this.termIds.get(term);
    if (id === undefined) {
      id = this.postings.length;
      this.termIds.set(term, id);
      this.postings.push([]);
    }
    const list = this.postings[id]!;
    for (let i = 0, at = offset; i < count; i++, at += 6) {
      const doc = docOf(data.readUInt32LE(at));
      if (doc >= 0) list.push((doc << TF_BITS) | Math.min(data.readUInt16LE(at + 4), TF_MAX));
    }
  }

  setLive(doc: number, live: boolean): void {
    const was = this.live[doc] === 1;
    if (was === live) return;
    this.live[doc] = live ? 1 : 0;
    this.liveDocs += live ? 1 : -1;
    this.liveLength += live ? this.lengths[doc]! : -this.lengths[doc]!;
  }

  isLive(doc: number): boolean {
    return this.live[doc] === 1;
  }

  /** Number of terms in document `doc` (its |d|). */
  length(doc: number): number {
    return this.lengths[doc]!;
  }

  /** Live documents containing `term` (an already normalised term). */
  documentFrequency(term: string): number {
    const id = this.termIds.get(term);
    if (id === undefined) return 0;
    let df = 0;
    for (const p of this.postings[id]!) if (this.live[p >>> TF_BITS] === 1) df++;
    return df;
  }

  idf(term: string): number {
    const df = this.documentFrequency(term);
    return Math.log(1 + (this.liveDocs - df + 0.5) / (df + 0.5));
  }

  /**
   * The `limit` best live documents for the distinct normalised `terms`, best first (ties: lower doc first).
   * `accept` can exclude documents (e.g. a folder filter).
   */
  search(terms: readonly string[], limit: number, accept?: (doc: number) => boolean): Scored[] {
    if (this.liveDocs === 0 || limit <= 0) return [];
    if (this.scratch.length < this.docCount) this.scratch = new Float32Array(Math.max(this.docCount, this.scratch.length * 2));
    const scores = this.scratch;
    const touched: number[] = [];
    const avgdl = this.averageLength || 1;
    const { k1, b } = this;
    for (const term of new Set(terms)) {
      const id = this.termIds.get(term);
      if (id === undefined) continue;
      const list = this.postings[id]!;
      let df = 0;
      for (let i = 0; i < list.length; i++) if (this.live[list[i]! >>> TF_BITS] === 1) df++;
      if (df === 0) continue;
      const idf = Math.log(1 + (this.liveDocs - df + 0.5) / (df + 0.5));
      for (let i = 0; i < list.length; i++) {
        const p = list[i]!;
        const doc = p >>> TF_BITS;
        if (this.live[doc] !== 1) continue;
        const tf = p & TF_MAX;
        const norm = k1 * (1 - b + (b * this.lengths[doc]!) / avgdl);
        if (scores[doc] === 0) touched.push(doc);
        scores[doc] += (idf * tf * (k1 + 1)) / (tf + norm);
      }
    }
    const heap = new TopK(limit);
    for (const doc of touched) {
      const s = scores[doc]!;
      scores[doc] = 0;
      if (s > 0 && (!accept || accept(doc))) heap.push(doc, s);
    }
    return heap.sorted();
  }

  private ensure(n: number): void {
    if (n <= this.lengths.length) return;
    const cap = Math.max(n, this.lengths.length * 2);
    const lengths = new Float32Array(cap);
    lengths.set(this.lengths);
    this.lengths = lengths;
    const live = new Uint8Array(cap);
    live.set(this.live);
    this.live = live;
  }
}
