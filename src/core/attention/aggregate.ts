/**
 * Aggregations of attention maps, shared by the Attention view and the CLI. Pure functions over the flat
 * `weights[((layer * heads + head) * n + query) * n + key]` layout of {@link AttentionMaps}; no DOM, no Node APIs.
 */

export interface MapsShape {
  readonly layers: number;
  readonly heads: number;
  /** Number of tokens. */
  readonly n: number;
}

/** The n × n map of one layer and head (a view into `weights`, not a copy). */
export function headMap(weights: Float32Array, shape: MapsShape, layer: number, head: number): Float32Array {
  const size = shape.n * shape.n;
  const start = (layer * shape.heads + head) * size;
  return weights.subarray(start, start + size);
}

/** Mean over the heads of one layer, or over the heads listed in `heads`: an n × n map whose rows sum to 1. */
export function meanOverHeads(weights: Float32Array, shape: MapsShape, layer: number, heads?: readonly number[]): Float32Array {
  const size = shape.n * shape.n;
  const chosen = heads ?? Array.from({ length: shape.heads }, (_, h) => h);
  const out = new Float32Array(size);
  if (chosen.length === 0) return out;
  for (const h of chosen) {
    const map = headMap(weights, shape, layer, h);
    for (let i = 0; i < size; i++) out[i]! += map[i]!;
  }
  const scale = 1 / chosen.length;
  for (let i = 0; i < size; i++) out[i]! *= scale;
  return out;
}

/**
 * Rollout's per-layer matrix (Abnar & Zuidema 2020): the head mean with the residual connection folded in,
 * `0.5 · mean + 0.5 · I`, rows renormalised to sum to 1. `mean` is one layer's n × n mean over heads.
 */
export function withResidual(mean: ArrayLike<number>, n: number, residual = true): Float64Array {
  const out = new Float64Array(n * n);
  for (let q = 0; q < n; q++) {
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const v = residual ? 0.5 * mean[q * n + k]! + (q === k ? 0.5 : 0) : mean[q * n + k]!;
      out[q * n + k] = v;
      sum += v;
    }
    if (sum > 0) for (let k = 0; k < n; k++) out[q * n + k]! /= sum;
  }
  return out;
}

/** {@link withResidual} of one layer of full maps. */
export function residualAttention(weights: Float32Array, shape: MapsShape, layer: number, residual = true): Float64Array {
  return withResidual(meanOverHeads(weights, shape, layer), shape.n, residual);
}

/**
 * Attention rollout of one query token through layers `0 … upToLayer`, from per-layer head means
 * (`layerMean(l)` is layer l's n × n mean over heads): how much each input token flows into `query`'s
 * representation. Row-vector products only (L · n² work), so it stays cheap at 512 tokens. Sums to 1.
 */
export function rolloutRowFromMeans(layerMean: (layer: number) => ArrayLike<number>, n: number, query: number, upToLayer: number, residual = true): Float64Array {
  let row: Float64Array = new Float64Array(n);
  row[query] = 1;
  for (let layer = upToLayer; layer >= 0; layer--) {
    const a = withResidual(layerMean(layer), n, residual);
    const next = new Float64Array(n);
    for (let q = 0; q < n; q++) {
      const r = row[q]!;
      if (r === 0) continue;
      for (let k = 0; k < n; k++) next[k]! += r * a[q * n + k]!;
    }
    row = next;
  }
  return row;
}

/** {@link rolloutRowFromMeans} over full maps. */
export function rolloutRow(weights: Float32Array, shape: MapsShape, query: number, upToLayer = shape.layers - 1, residual = true): Float64Array {
  return rolloutRowFromMeans((l) => meanOverHeads(weights, shape, l), shape.n, query, upToLayer, residual);
}

/**
 * The full rollout matrix after `upToLayer`: `R = Â_upTo · … · Â_0` with Â the residual-folded, head-averaged
 * attention of each layer. Rows sum to 1. O(L · n³): use {@link rolloutRow} for single tokens of long inputs.
 */
export function rollout(weights: Float32Array, shape: MapsShape, upToLayer = shape.layers - 1, residual = true): Float64Array {
  const { n } = shape;
  let joint = residualAttention(weights, shape, 0, residual);
  for (let layer = 1; layer <= upToLayer; layer++) {
    const a = residualAttention(weights, shape, layer, residual);
    const next = new Float64Array(n * n);
    for (let q = 0; q < n; q++) {
      for (let m = 0; m < n; m++) {
        const w = a[q * n + m]!;
        if (w === 0) continue;
        for (let k = 0; k < n; k++) next[q * n + k]! += w * joint[m * n + k]!;
      }
    }
    joint = next;
  }
  return joint;
}
