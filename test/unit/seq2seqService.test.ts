/**
 * The summary requests handled by Seq2SeqService inside a real worker thread, with the same message loop and
 * cancellation checkpoint as src/worker/modelWorker.ts: this bundle starts itself as the worker.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { isSeq2SeqWorkerRequest, type Seq2SeqWorkerRequest, type Seq2SeqWorkerResults, type StreamedUpdate, type SummaryResult } from '../../src/protocol/summarize';
import type { CrossAttentionMaps, GenerationResult } from '../../src/protocol/summarize';
import { isLocalModel, type LocalModel, type WorkerError, type WorkerProgress } from '../../src/protocol/worker';
import { CodedError, toWorkerError } from '../../src/worker/errors';
import { Seq2SeqService } from '../../src/worker/seq2seq/seq2seqService';
import { fixtureModel } from '../harness/paths';
import { maxAbsDiff } from '../harness/reference';

type ToWorker = { kind: 'request'; id: number; request: Seq2SeqWorkerRequest } | { kind: 'cancel'; id: number };
type FromWorker =
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: WorkerError }
  | { kind: 'progress'; id: number; progress: WorkerProgress }
  | { kind: 'stream'; id: number; update: StreamedUpdate };

function serve(): void {
  const port = parentPort!;
  const service = new Seq2SeqService();
  const cancelled = new Set<number>();
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'cancel') {
      cancelled.add(m.id);
      return;
    }
    const { id, request } = m;
    const checkpoint = async (): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve));
      if (cancelled.has(id)) throw new CodedError('cancelled', 'Cancelled');
    };
    service
      .handle(request, {
        checkpoint,
        progress: (progress) => port.postMessage({ kind: 'progress', id, progress }),
        stream: (update) => port.postMessage({ kind: 'stream', id, update }),
      })
      .then(
        (result) => {
          const weights = (result as { weights?: unknown }).weights;
          port.postMessage({ kind: 'result', id, result }, weights instanceof Float32Array ? [weights.buffer as ArrayBuffer] : []);
        },
        (e: unknown) => port.postMessage({ kind: 'error', id, error: toWorkerError(e) }),
      )
      .finally(() => cancelled.delete(id));
  });
}

interface Call<T> {
  readonly id: number;
  readonly done: Promise<T>;
  readonly streamed: StreamedUpdate[];
  readonly progress: WorkerProgress[];
}

class Harness {
  private nextId = 1;
  private readonly listeners = new Map<number, (m: FromWorker) => void>();
  constructor(readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => this.listeners.get(m.id)?.(m));
  }

  call<R extends Seq2SeqWorkerRequest>(request: R, onStream?: (u: StreamedUpdate) => void): Call<Seq2SeqWorkerResults[R['type']]> {
    const id = this.nextId++;
    const streamed: StreamedUpdate[] = [];
    const progress: WorkerProgress[] = [];
    const done = new Promise<Seq2SeqWorkerResults[R['type']]>((resolve, reject) => {
      this.listeners.set(id, (m) => {
        if (m.kind === 'stream') {
          streamed.push(m.update);
          onStream?.(m.update);
        } else if (m.kind === 'progress') progress.push(m.progress);
        else {
          this.listeners.delete(id);
          if (m.kind === 'result') resolve(m.result as Seq2SeqWorkerResults[R['type']]);
          else reject(new CodedError(m.error.code, m.error.message));
        }
      });
    });
    this.worker.postMessage({ kind: 'request', id, request });
    return { id, done, streamed, progress };
  }

  cancel(id: number): void {
    this.worker.postMessage({ kind: 'cancel', id });
  }
}

interface Reference {
  readonly items: { text: string; input_ids: number[]; greedy: { sequence: number[]; text: string }; beam: { sequence: number[] }; cross_attentions: number[][][][] }[];
}

if (!isMainThread && (workerData as { seq2seqTestWorker?: boolean } | undefined)?.seq2seqTestWorker) {
  serve();
} else if (typeof describe === 'function') {
  const local = (name: string): LocalModel => ({ ref: name, dir: fixtureModel(name), dtype: 'fp32' });
  const reference = (name: string): Reference => JSON.parse(fs.readFileSync(path.join(fixtureModel(name), 'reference.json'), 'utf8')) as Reference;

  describe('seq2seq requests in a worker thread', function () {
    this.timeout(60_000);
    let worker: Worker;
    let h: Harness;
    before(() => {
      worker = new Worker(__filename, { workerData: { seq2seqTestWorker: true }, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
      h = new Harness(worker);
    });
    after(() => worker.terminate());

    it('describes a model, counts input tokens and generates with streaming across the thread', async () => {
      const info = await h.call({ type: 'seq2seqInfo', model: local('tiny-bart') }).done;
      assert.deepEqual([info.decoderLayers, info.heads, info.maxInputTokens, info.decoderMode], [2, 4, 128, 'merged']);
      const ref = reference('tiny-bart');
      const counts = await h.call({ type: 'countInputTokens', model: local('tiny-bart'), texts: ref.items.map((i) => i.text) }).done;
      assert.deepEqual(counts, ref.items.map((i) => i.input_ids.length));
      for (const [k, item] of ref.items.entries()) {
        const call = h.call({ type: 'generate', model: local('tiny-bart'), text: item.text, options: { maxNewTokens: 12, numBeams: k === 0 ? 3 : 1 }, stream: true });
        const r: GenerationResult = await call.done;
        assert.deepEqual(r.ids, k === 0 ? item.beam.sequence : item.greedy.sequence);
        assert.equal(call.streamed.at(-1)!.done, true);
        assert.deepEqual(call.streamed.at(-1)!.ids, r.ids);
        if (k > 0) assert.equal(call.streamed.map((u) => u.delta).join(''), item.greedy.text);
      }
    });

    for (const name of ['tiny-t5', 'tiny-bart']) {
      it(`${name}: a cancel posted mid-generation ends the request within 100 ms`, async () => {
        const text = reference(name).items[2]!.text;
        let cancelledAt = 0;
        let afterCancel = 0;
        const call = h.call({ type: 'generate', model: local(name), text, options: { maxNewTokens: 120, minNewTokens: 119 }, stream: true }, (u) => {
          if (cancelledAt > 0) afterCancel++;
          else if (u.step === 5) {
            cancelledAt = performance.now();
            h.cancel(call.id);
          }
        });
        await assert.rejects(call.done, (e: unknown) => e instanceof CodedError && e.code === 'cancelled');
        const elapsed = performance.now() - cancelledAt;
        assert.ok(cancelledAt > 0);
        assert.ok(elapsed < 100, `the worker answered ${elapsed.toFixed(1)} ms after the cancel`);
        assert.ok(call.streamed.length < 60, `${call.streamed.length} tokens streamed: generation did not stop early`);
        // Updates the worker posted before the cancel reached it still arrive (tiny models step in ~0.5 ms).
        assert.ok(afterCancel < 40, `${afterCancel} updates after the cancel`);
        // The worker keeps serving.
        const again = await h.call({ type: 'generate', model: local(name), text, options: { maxNewTokens: 3 } }).done;
        assert.equal(again.steps, 3);
      });
    }

    it('summarises a long input in parts with progress, streaming only the final generation', async () => {
      const text = Array.from({ length: 6 }, (_, k) => `## Part ${k + 1}\n\n${reference('tiny-t5').items[2]!.text}`).join('\n\n');
      const call = h.call({ type: 'summarize', model: local('tiny-t5'), text, options: { maxInputTokens: 64, maxNewTokens: 8 }, stream: true });
      const r: SummaryResult = await call.done;
      assert.ok(r.rounds.length >= 1);
      assert.ok(r.rounds[0]!.parts.length >= 6, `${r.rounds[0]!.parts.length} parts`);
      for (const p of r.rounds[0]!.parts) assert.ok(p.end > p.start && p.end <= text.length);
      assert.ok(call.progress.some((p) => /^Summarising part 1 of \d+$/.test(p.message)));
      assert.equal(r.text, r.final.text.trim());
      assert.ok(call.streamed.length > 0 && call.streamed.every((u) => u.part?.final === true));
      assert.deepEqual(call.streamed.at(-1)!.ids, r.final.ids);
    });

    it('returns cross-attention (weights transferred) equal to PyTorch, and rejects bad ids', async () => {
      const item = reference('tiny-t5').items[1]!;
      const maps: CrossAttentionMaps = await h.call({ type: 'crossAttention', model: local('tiny-t5'), sourceText: item.text, ids: item.greedy.sequence }).done;
      assert.ok(maps.weights instanceof Float32Array);
      assert.ok(maxAbsDiff(maps.weights, item.cross_attentions.flat(3)) < 1e-4);
      await assert.rejects(h.call({ type: 'crossAttention', model: local('tiny-t5'), sourceText: item.text, ids: [0, 99999] }).done, (e: unknown) => e instanceof CodedError && e.code === 'badRequest');
    });
  });

  describe('seq2seq request guards', () => {
    const model = local('tiny-t5');
    const ok = (r: Record<string, unknown>): boolean => isLocalModel(r.model) && isSeq2SeqWorkerRequest(r);
    it('accept well-formed requests and reject malformed ones', () => {
      assert.ok(ok({ type: 'generate', model, text: 'x', options: { numBeams: 4, earlyStopping: 'never' }, stream: true }));
      assert.ok(ok({ type: 'summarize', model, text: 'x', maxRounds: 2 }));
      assert.ok(ok({ type: 'crossAttention', model, sourceText: 'x', ids: [0, 5, 1] }));
      assert.ok(ok({ type: 'countInputTokens', model, texts: ['a', 'b'] }));
      assert.ok(!ok({ type: 'generate', model, text: 3 }));
      assert.ok(!ok({ type: 'generate', model, text: 'x', options: { numBeams: 0 } }));
      assert.ok(!ok({ type: 'generate', model, text: 'x', options: { numBeams: 64 } }));
      assert.ok(!ok({ type: 'generate', model, text: 'x', options: { earlyStopping: 'sometimes' } }));
      assert.ok(!ok({ type: 'crossAttention', model, sourceText: 'x', ids: [0.5] }));
      assert.ok(!ok({ type: 'crossAttention', model, sourceText: 'x', ids: [] }));
      assert.ok(!ok({ type: 'summarize', model, text: 'x', maxRounds: 0 }));
      assert.ok(!ok({ type: 'nope', model }));
    });
  });
}
