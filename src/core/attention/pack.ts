/**
 * Compact forms of attention maps for the Attention view. Full maps of a 12 × 12-head model at 512 tokens are
 * 150 MB of float32 — far too much to post to a webview — so the view gets one layer at a time plus small
 * summaries, quantised to 16 bits (see `quantize` in protocol/attention.ts).
 */
import { quantize, type AttentionMaps } from '../../protocol/attention';
import { meanOverHeads, type MapsShape } from './aggregate';

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
