import { createHash } from 'node:crypto';
import { tokenize } from '../../src/core/search/lexical';
import type { Embedder } from '../../src/core/search/types';

export interface HashingEmbedderOptions {
  readonly dims?: number;
  readonly modelKey?: string;
  readonly maxTokens?: number;
  /** Artificial latency per embed call (ms). */
  readonly delayMs?: number;
  readonly weakMatchBelow?: number;
}

/**
 * A deterministic stand-in for a sentence encoder: the sum of pseudo-random ±1 vectors of the text's lexical terms
 * (feature hashing), L2-normalised. Texts sharing terms are similar; records every text it embeds.
 */
export class HashingEmbedder implements Embedder {
  readonly dims: number;
  readonly modelKey: string;
  readonly maxTokens: number;
  readonly weakMatchBelow?: number;
  readonly embedded: string[] = [];
  calls = 0;
  private readonly delayMs: number;

  constructor(options: HashingEmbedderOptions = {}) {
    this.dims = options.dims ?? 64;
    this.modelKey = options.modelKey ?? `hashing-${this.dims}`;
    this.maxTokens = options.maxTokens ?? 128;
    this.delayMs = options.delayMs ?? 0;
    if (options.weakMatchBelow !== undefined) this.weakMatchBelow = options.weakMatchBelow;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array> {
    signal?.throwIfAborted();
    this.calls++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    signal?.throwIfAborted();
    const out = new Float32Array(texts.length * this.dims);
    texts.forEach((text, i) => {
      this.embedded.push(text);
      out.set(this.vector(text), i * this.dims);
    });
    return out;
  }

  vector(text: string): Float32Array {
    const v = new Float32Array(this.dims);
    const terms = tokenize(text).map((t) => t.term);
    for (const term of terms.length > 0 ? terms : [text]) {
      const h = createHash('sha256').update(term).digest();
      for (let d = 0; d < this.dims; d++) v[d]! += (h[d % 32]! >> (d >> 5) % 8) & 1 ? 1 : -1;
    }
    let norm = 0;
    for (const x of v) norm += x * x;
    const s = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    return v.map((x) => x * s);
  }
}

/** A seeded pseudo-random generator (mulberry32), for reproducible synthetic data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
