import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { meanOverHeads, rollout, rolloutRow } from '../../src/core/attention/aggregate';
import { repoRoot } from '../harness/paths';
import { loadReference, maxAbsDiff } from '../harness/reference';

interface RolloutReference {
  items: { item: number; mean_over_heads: number[][][]; rollout_by_layer: number[][][] }[];
}

const reference = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/attention/rollout-reference.json'), 'utf8')) as RolloutReference;
const attention = loadReference('tiny-bert-wide');

describe('attention aggregation against PyTorch', () => {
  for (const expected of reference.items) {
    const item = attention.items[expected.item]!;
    const weights = Float32Array.from(item.attentions!.flat(3));
    const shape = { layers: 3, heads: 6, n: item.tokens.length };

    it(`mean over heads and rollout (with residual) match to 1e-5 for ${JSON.stringify(item.text.slice(0, 24))}`, () => {
      for (let layer = 0; layer < shape.layers; layer++) {
        assert.ok(maxAbsDiff(meanOverHeads(weights, shape, layer), expected.mean_over_heads[layer]!.flat()) < 1e-5);
        const full = rollout(weights, shape, layer);
        assert.ok(maxAbsDiff(full, expected.rollout_by_layer[layer]!.flat()) < 1e-5, `rollout after layer ${layer}`);
        for (let q = 0; q < shape.n; q++) {
          const row = rolloutRow(weights, shape, q, layer);
          assert.ok(maxAbsDiff(row, expected.rollout_by_layer[layer]![q]!) < 1e-5, `row ${q} after layer ${layer}`);
          assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-9);
        }
      }
    });
  }

  it('means over a subset of heads', () => {
    const item = attention.items[0]!;
    const weights = Float32Array.from(item.attentions!.flat(3));
    const shape = { layers: 3, heads: 6, n: item.tokens.length };
    const two = meanOverHeads(weights, shape, 1, [2, 4]);
    const manual = item.attentions![1]![2]!.flat().map((v, i) => (v + item.attentions![1]![4]!.flat()[i]!) / 2);
    assert.ok(maxAbsDiff(two, manual) < 1e-6);
  });
});
