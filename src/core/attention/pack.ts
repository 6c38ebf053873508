/**
 * Compact forms of attention maps for the Attention view. Full maps of a 12 × 12-head model at 512 tokens are
 * 150 MB of float32 — far too much to post to a webview — so the view gets one layer at a time plus small
 * summaries, quantised to 16 bits (an error of at most 1 / 131070 ≈ 7.6e-6 on weights in [0, 1]).
 */
import type { AttentionMaps } from '../../protocol/attention';
import { meanOverHeads, type MapsShape } from './aggregate';

export const QUANT_MAX = 65535;

/** Quantises weights in [0, 1] to 16 bits. */
export function quantize(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, values[i]!)) * QUANT_MAX);
  return out;
}

/** Undoes {@link quantize}. */
export function dequantize(values: Uint16Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! / QUANT_MAX;
  return out;
}

export function shapeOf(maps: Pick<AttentionMaps, 'layers' | 'heads' | 'tokens'>): MapsShape {
  return { layers: maps.layers, heads: maps.heads, n: maps.tokens.length };
}

/** All heads of one layer, `[head][query][key]`, quantised. */
export function packLayer(maps: AttentionMaps, layer: number): Uint16Array {
  const size = maps.heads * maps.tokens.length ** 2;
  return quantize(maps.weights.subarray(layer * size, (layer + 1) * size));
}

/** The mean over heads of every layer, `[layer][query][key]`, quantised. */
export function packLayerMeans(maps: AttentionMaps): Uint16Array {
  const shape = shapeOf(maps);
  const size = shape.n * shape.n;
  const out = new Uint16Array(shape.layers * size);
  for (let l = 0; l < shape.layers; l++) out.set(quantize(meanOverHeads(maps.weights, shape, l)), l * size);
  return out;
}

/**
 * A `size × size` thumbnail of every map, `[layer][head][y][x]` as bytes (0–255 for weights 0–1): each pixel holds
 * the largest weight of the block of cells it covers, so sharp patterns survive the shrinking.
 */
export function packThumbnails(maps: AttentionMaps, size: number): Uint8Array {
  const { layers, heads, n } = shapeOf(maps);
  const out = new Uint8Array(layers * heads * size * size);
  const block = n / size;
  for (let m = 0; m < layers * heads; m++) {
    const base = m * n * n;
    for (let py = 0; py < size; py++) {
      const q0 = Math.floor(py * block);
      const q1 = Math.max(q0 + 1, Math.floor((py + 1) * block));
      for (let px = 0; px < size; px++) {
        const k0 = Math.floor(px * block);
        const k1 = Math.max(k0 + 1, Math.floor((px + 1) * block));
        let max = 0;
        for (let q = q0; q < q1; q++) {
          const row = base + q * n;
          for (let k = k0; k < k1; k++) if (maps.weights[row + k]! > max) max = maps.weights[row + k]!;
        }
        out[(m * size + py) * size + px] = Math.round(Math.min(1, max) * 255);
      }
    }
  }
  return out;
}

/** Thumbnail edge in pixels for `n` tokens. */
export function thumbnailSize(n: number): number {
  return Math.max(1, Math.min(n, 64));
}
