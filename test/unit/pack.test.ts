import * as assert from 'node:assert/strict';
import { packLayer, packLayerMeans, packThumbnails, thumbnailSize } from '../../src/core/attention/pack';
import { dequantize, quantize } from '../../src/protocol/attention';
import type { AttentionMaps } from '../../src/protocol/attention';
import { loadReference, maxAbsDiff } from '../harness/reference';

function mapsOf(model: string, item = 0): AttentionMaps {
  const ref = loadReference(model).items[item]!;
  return {
    model,
    tokens: ref.tokens.map((text) => ({ text, start: 0, end: 0, special: false })),
    layers: ref.attentions!.length,
    heads: ref.attentions![0]!.length,
    weights: Float32Array.from(ref.attentions!.flat(3)),
    truncated: false,
    maxTokens: 64,
    inputTokens: ref.tokens.length,
    window: { start: 0, textTokens: ref.tokens.length - 2 },
    read: { chars: ref.text.length, totalChars: ref.text.length },
  };
}

describe('compact attention for the view', () => {
  it('quantises weights to 16 bits within 1/131070', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i * 0.37) % 1);
    assert.ok(maxAbsDiff(dequantize(quantize(values)), values) <= 1 / 131070 + 1e-9);
    assert.deepEqual([...quantize([0, 1, 1.5, -0.2])], [0, 65535, 65535, 0]);
  });

  it('packs one layer and the per-layer head means', () => {
    const maps = mapsOf('tiny-bert-wide');
    const ref = loadReference('tiny-bert-wide').items[0]!.attentions!;
    assert.ok(maxAbsDiff(dequantize(packLayer(maps, 2)), ref[2]!.flat(2)) < 1e-5);
    const n = maps.tokens.length;
    const means = dequantize(packLayerMeans(maps));
    for (let l = 0; l < maps.layers; l++) {
      for (let i = 0; i < n * n; i++) {
        const expected = ref[l]!.reduce((s, head) => s + head.flat()[i]!, 0) / maps.heads;
        assert.ok(Math.abs(means[l * n * n + i]! - expected) < 1e-5);
      }
    }
  });

  it('makes block-max thumbnails', () => {
    const maps = mapsOf('tiny-bert-wide');
    const n = maps.tokens.length;
    assert.equal(thumbnailSize(n), n);
    assert.equal(thumbnailSize(512), 64);
    // At full size a thumbnail is the map itself, in bytes.
    const full = packThumbnails(maps, n);
    for (let i = 0; i < 50; i++) assert.equal(full[i], Math.round(maps.weights[i]! * 255));
    // Halved: each pixel is the largest of its 2 × 2 block.
    const half = Math.floor(n / 2);
    const small = packThumbnails(maps, half);
    const block = n / half;
    const expected = Math.max(...[0, 1].flatMap((dq) => [0, 1].map((dk) => maps.weights[Math.floor(dq) * n + dk]!)));
    assert.equal(block, 2);
    assert.equal(small[0], Math.round(expected * 255));
  });
});
