import * as fs from 'node:fs';
import * as path from 'node:path';
import { attentionIndex, type AttentionMaps } from '../../src/protocol/attention';
import { fixtureModel } from './paths';

/** PyTorch reference outputs written by scripts/fixtures/make_bert.py (see test/fixtures/models/README.md). */
export interface ReferenceItem {
  readonly text: string;
  readonly tokens: string[];
  readonly input_ids: number[];
  readonly untruncated_length: number;
  readonly truncated: boolean;
  readonly last_hidden_state: number[][];
  readonly attentions: number[][][][] | null;
  readonly embedding: number[];
}

export interface Reference {
  readonly config: { num_hidden_layers: number; num_attention_heads: number; hidden_size: number; max_position_embeddings: number };
  readonly items: ReferenceItem[];
}

export function loadReference(model: string): Reference {
  return JSON.parse(fs.readFileSync(path.join(fixtureModel(model), 'reference.json'), 'utf8')) as Reference;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Largest deviation from 1 of any attention row's sum. */
export function rowSumError(maps: AttentionMaps): number {
  const n = maps.tokens.length;
  let worst = 0;
  for (let l = 0; l < maps.layers; l++)
    for (let h = 0; h < maps.heads; h++)
      for (let q = 0; q < n; q++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += maps.weights[attentionIndex(maps, l, h, q, k)]!;
        worst = Math.max(worst, Math.abs(s - 1));
      }
  return worst;
}

/** Cosine of row `i` of `a` and row `j` of `b`, both row-major with `dims` columns. */
export function rowCosine(a: Float32Array, i: number, b: Float32Array, j: number, dims: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let d = 0; d < dims; d++) {
    const x = a[i * dims + d]!;
    const y = b[j * dims + d]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

/** The smallest cosine between row r of `a` and row r of `b`, over all rows. */
export function minRowCosine(a: Float32Array, b: Float32Array, dims: number): number {
  let min = Infinity;
  for (let r = 0; r < a.length / dims; r++) min = Math.min(min, rowCosine(a, r, b, r, dims));
  return min;
}
