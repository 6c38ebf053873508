import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModels, modelLimitsFrom } from '../../src/worker/loadedModels';

/** A model that records its disposal. */
class FakeModel {
  disposed = false;
  constructor(readonly name: string) {}
  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

describe('worker: loaded models within limits (issue 14 item 10)', () => {
  let clock = 0;
  const now = (): number => clock;
  let loads: string[];
  const load = (name: string) => async (): Promise<FakeModel> => {
    loads.push(name);
    return new FakeModel(name);
  };
  beforeEach(() => {
    clock = 0;
    loads = [];
  });

  it('keeps at most maxLoaded models, unloading the least recently used, and only while the worker is idle', async () => {
    const cache = new LoadedModels({ maxLoaded: 2, idleMs: 0 }, now);
    const a = await cache.get('a', '', load('a'));
    clock = 1;
    const b = await cache.get('b', '', load('b'));
    clock = 2;
    assert.equal(await cache.get('a', '', load('a')), a, 'a used again: now the most recent');
    clock = 3;
    const c = await cache.get('c', '', load('c'));
    assert.deepEqual(await cache.trim(() => false), [], 'nothing unloaded while a request runs');
    assert.deepEqual(cache.keys, ['b', 'a', 'c']);
    assert.deepEqual(await cache.trim(), ['b']);
    assert.equal(b.disposed, true);
    assert.equal(a.disposed || c.disposed, false);
    clock = 4;
    await cache.get('b', '', load('b'));
    assert.deepEqual(loads, ['a', 'b', 'c', 'b'], 'an unloaded model loads again when needed');
  });

  it('unloads a model unused for idleMs', async () => {
    const cache = new LoadedModels({ maxLoaded: 5, idleMs: 60_000 }, now);
    const a = await cache.get('a', '', load('a'));
    clock = 30_000;
    const b = await cache.get('b', '', load('b'));
    clock = 60_000;
    assert.deepEqual(await cache.trim(), ['a']);
    assert.equal(a.disposed, true);
    assert.equal(b.disposed, false);
    clock = 90_000;
    assert.deepEqual(await cache.trim(), ['b']);
    assert.deepEqual(cache.keys, []);
  });

  it('remembers a failed load until the folder changes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-loaded-'));
    try {
      const cache = new LoadedModels({ maxLoaded: 2, idleMs: 0 }, now);
      let attempts = 0;
      const failing = async (): Promise<FakeModel> => {
        attempts++;
        throw new Error('broken model');
      };
      await assert.rejects(cache.get('x', dir, failing), /broken model/);
      await assert.rejects(cache.get('x', dir, failing), /broken model/);
      assert.equal(attempts, 1, 'the second request did not load again');
      fs.writeFileSync(path.join(dir, 'config.json'), '{}');
      await assert.rejects(cache.get('x', dir, failing), /broken model/);
      assert.equal(attempts, 2, 'a changed folder is tried again');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads its limits from the environment the host sets, with bounds', () => {
    assert.deepEqual(modelLimitsFrom({ BERT_LENS_MAX_LOADED_MODELS: '2', BERT_LENS_MODEL_IDLE_MS: '5000' }), { maxLoaded: 2, idleMs: 5000 });
    assert.deepEqual(modelLimitsFrom({ BERT_LENS_MAX_LOADED_MODELS: '0', BERT_LENS_MODEL_IDLE_MS: '-1' }), { maxLoaded: 3, idleMs: 600_000 });
    assert.equal(modelLimitsFrom({ BERT_LENS_MAX_LOADED_MODELS: '100000' }).maxLoaded, 64);
  });
});
