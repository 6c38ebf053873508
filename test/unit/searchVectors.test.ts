import * as assert from 'node:assert/strict';
import { VectorStore } from '../../src/core/search/vectorStore';
import { seededRandom } from '../harness/searchFakes';

function randomUnit(dims: number, rand: () => number): Float32Array {
  const v = new Float32Array(dims);
  let n = 0;
  for (let d = 0; d < dims; d++) {
    v[d] = rand() * 2 - 1;
    n += v[d]! * v[d]!;
  }
  return v.map((x) => x / Math.sqrt(n));
}

function bruteForce(rows: Float32Array[], q: Float32Array, k: number, mask?: Uint8Array): number[] {
  return rows
    .map((r, i) => ({ i, s: r.reduce((acc, x, d) => acc + x * q[d]!, 0) }))
    .filter((e) => !mask || mask[e.i] === 1)
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((e) => e.i);
}

describe('search: vector store', () => {
  const dims = 48; // not a multiple of 32: exercises row padding
  const rand = seededRandom(7);
  const rows = Array.from({ length: 3000 }, () => randomUnit(dims, rand));
  const queries = Array.from({ length: 10 }, () => randomUnit(dims, rand));

  for (const simd of [true, false]) {
    it(`exact top-k equals brute force (${simd ? 'WebAssembly SIMD' : 'JS'} kernels, several blocks, masked rows)`, async () => {
      const store = new VectorStore(dims, { blockRows: 512, simd, quantizeAbove: Infinity });
      if (simd) assert.equal(store.simd, true, 'this Node supports WebAssembly SIMD');
      for (const r of rows) store.add(r);
      assert.equal(store.size, rows.length);
      const mask = new Uint8Array(rows.length).map((_, i) => (i % 3 === 0 ? 0 : 1));
      for (const q of queries) {
        const got = await store.search(q, 10, { mask });
        assert.deepEqual(got.map((g) => g.doc), bruteForce(rows, q, 10, mask));
        const best = got[0]!;
        assert.ok(Math.abs(best.score - store.dot(best.doc, q)) < 1e-5);
      }
      assert.deepEqual([...store.get(5)], [...rows[5]!].map((x) => Math.fround(x)));
    });
  }

  it('int8 scan with exact re-scoring finds the exact top 10 on random vectors', async () => {
    const store = new VectorStore(dims, { blockRows: 512, quantizeAbove: 0 });
    for (const r of rows) store.add(r);
    assert.equal(store.usesQuantization, true);
    let found = 0;
    for (const q of queries) {
      const got = await store.search(q, 10);
      const want = new Set(bruteForce(rows, q, 10));
      found += got.filter((g) => want.has(g.doc)).length;
      for (const g of got) assert.ok(Math.abs(g.score - store.dot(g.doc, q)) < 1e-6, 'scores are exact f32 dot products');
    }
    assert.ok(found >= 99, `recall ${found}/100`);
  });

  it('switches to int8 scanning past the threshold, and yields to the event loop between blocks', async () => {
    const store = new VectorStore(dims, { blockRows: 256, quantizeAbove: 1000 });
    for (let i = 0; i < 1000; i++) store.add(rows[i]!);
    assert.equal(store.usesQuantization, false);
    store.add(rows[1000]!);
    assert.equal(store.usesQuantization, true);
    for (let i = 1001; i < rows.length; i++) store.add(rows[i]!);
    // With a 0 ms slice the search yields after every block: a macrotask queued before it runs before it ends.
    let ran = false;
    setImmediate(() => (ran = true));
    const abort = new AbortController();
    const got = await store.search(queries[0]!, 5, { sliceMs: 0, signal: abort.signal });
    assert.equal(ran, true);
    assert.deepEqual(got.map((g) => g.doc), bruteForce(rows, queries[0]!, 5));
    ran = false;
    setImmediate(() => (ran = true));
    await store.search(queries[0]!, 5, { sliceMs: 1000 });
    assert.equal(ran, false, 'within its time slice the search does not yield');
    const slow = store.search(queries[0]!, 5, { sliceMs: 0, signal: abort.signal });
    abort.abort();
    await assert.rejects(slow, { name: 'AbortError' });
  });

  it('rejects bad dimensions and out-of-range rows', () => {
    assert.throws(() => new VectorStore(0));
    const store = new VectorStore(4);
    store.add([1, 0, 0, 0]);
    assert.throws(() => store.get(1), RangeError);
  });
});
