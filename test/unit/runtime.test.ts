import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AttentionMaps } from '../../src/protocol/attention';
import type { LocalModel, WorkerNotice } from '../../src/protocol/worker';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import { USE_LITE_REF } from '../../src/core/models/modelRef';
import { FORCE_WASM_ENV } from '../../src/worker/runtime';
import { fixtureModel, repoRoot, workerScript } from '../harness/paths';
import { loadReference, maxAbsDiff, rowSumError } from '../harness/reference';

const tinyBert: LocalModel = { ref: 'tiny-bert', dir: fixtureModel('tiny-bert'), dtype: 'fp32' };
const bundled: LocalModel = { ref: USE_LITE_REF, dir: '', dtype: 'fp32' };
const texts = [
  'The quick brown fox jumps over the lazy dog.',
  'Résumé of a naïve café owner',
  'function upload(file) { return fetch(url, { method: "POST", body: file }); }',
  '',
];

/** A worker started with `extraEnv` in its environment; notices are collected. */
async function startWorker(script: string, extraEnv: Record<string, string> = {}): Promise<{ client: ModelWorkerClient; notices: WorkerNotice[] }> {
  const notices: WorkerNotice[] = [];
  const saved = Object.fromEntries(Object.keys(extraEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, extraEnv);
  const client = new ModelWorkerClient({ workerScript: script, onNotice: (n) => notices.push(n) });
  try {
    await client.start();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { client, notices };
}

function assertSameMaps(wasm: AttentionMaps, native: AttentionMaps): void {
  assert.deepEqual(wasm.tokens, native.tokens);
  assert.equal(wasm.layers, native.layers);
  assert.equal(wasm.heads, native.heads);
  const diff = maxAbsDiff(wasm.weights, native.weights);
  assert.ok(diff < 1e-4, `attention differs by ${diff}`);
  assert.ok(rowSumError(wasm) < 1e-5);
}

describe('runtime: the WebAssembly fallback gives the native results', function () {
  this.timeout(120_000);
  let native: ModelWorkerClient;
  let wasm: ModelWorkerClient;
  let wasmNotices: WorkerNotice[];

  before(async () => {
    native = (await startWorker(workerScript)).client;
    ({ client: wasm, notices: wasmNotices } = await startWorker(workerScript, { [FORCE_WASM_ENV]: '1' }));
  });
  after(async () => {
    await native?.dispose();
    await wasm?.dispose();
  });

  it('says which runtime each worker uses, once, before it is ready', () => {
    assert.deepEqual(native.runtime, { kind: 'native' });
    assert.deepEqual(wasmNotices, [{ type: 'runtime', runtime: { kind: 'wasm', reason: `${FORCE_WASM_ENV}=1 is set`, forced: true } }]);
    assert.deepEqual(wasm.runtime, wasmNotices[0]!.runtime);
  });

  for (const model of [tinyBert, bundled]) {
    it(`${model.ref}: embeddings on WebAssembly equal the native ones within 1e-4`, async () => {
      const [a, b] = await Promise.all([native.request({ type: 'embed', model, texts }), wasm.request({ type: 'embed', model, texts })]);
      assert.equal(b.dims, a.dims);
      assert.equal(b.count, texts.length);
      const diff = maxAbsDiff(b.vectors, a.vectors);
      assert.ok(diff < 1e-4, `embeddings differ by ${diff}`);
    });

    it(`${model.ref}: attention maps on WebAssembly equal the native ones within 1e-4`, async () => {
      for (const text of texts.slice(0, 3)) {
        const [a, b] = await Promise.all([native.request({ type: 'attention', model, text }), wasm.request({ type: 'attention', model, text })]);
        assertSameMaps(b, a);
      }
    });
  }

  it('tiny-bert on WebAssembly still matches PyTorch within 1e-4', async () => {
    const reference = loadReference('tiny-bert');
    const items = reference.items.filter((i) => !i.truncated);
    const result = await wasm.request({ type: 'embed', model: tinyBert, texts: items.map((i) => i.text) });
    items.forEach((item, i) => {
      const got = result.vectors.subarray(i * result.dims, (i + 1) * result.dims);
      assert.ok(maxAbsDiff(got, item.embedding) < 1e-4, item.text);
    });
  });

  it('seq2seq generation (tiny-t5) on WebAssembly produces the native tokens', async () => {
    const model: LocalModel = { ref: 'tiny-t5', dir: fixtureModel('tiny-t5'), dtype: 'fp32' };
    const request = { type: 'generate', model, text: texts[0]!, options: { maxNewTokens: 8, numBeams: 2 } } as const;
    const [a, b] = await Promise.all([native.request(request), wasm.request(request)]);
    assert.deepEqual(b.ids, a.ids);
  });
});

describe('runtime: a worker with no native onnxruntime falls back by itself', function () {
  this.timeout(120_000);
  let dir: string;
  let client: ModelWorkerClient;
  let notices: WorkerNotice[];

  before(async () => {
    // The worker bundle alone, as in a package without onnxruntime-node: nothing to require next to it.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-no-native-'));
    fs.copyFileSync(workerScript, path.join(dir, 'worker.js'));
    for (const sub of ['ort-wasm', 'use-lite']) fs.symlinkSync(path.join(repoRoot, 'dist', sub), path.join(dir, sub), 'dir');
    ({ client, notices } = await startWorker(path.join(dir, 'worker.js')));
  });
  after(async () => {
    await client?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports the WebAssembly runtime and why, once', () => {
    assert.equal(notices.length, 1);
    const runtime = notices[0]!.runtime;
    assert.equal(runtime.kind, 'wasm');
    assert.ok(runtime.kind === 'wasm' && !runtime.forced);
    assert.match(runtime.kind === 'wasm' ? runtime.reason : '', /native onnxruntime cannot load on .*onnxruntime-node/);
  });

  it('embeds and reads attention with the bundled encoder and a BERT folder', async () => {
    const e = await client.request({ type: 'embed', model: bundled, texts: ['a cat sat on the mat'] });
    assert.equal(e.dims, 512);
    const maps = await client.request({ type: 'attention', model: tinyBert, text: texts[0]! });
    const reference = loadReference('tiny-bert').items[0]!;
    assert.deepEqual(maps.tokens.map((t) => t.text), reference.tokens);
    assert.ok(maxAbsDiff(maps.weights, reference.attentions!.flat(3)) < 1e-4);
  });
});
