// Seq2seq benchmark: tokens/s of greedy decoding on a t5-small-size random T5 (6+6 layers, d_model 512, 8 heads,
// d_ff 2048, vocab 32128) with and without the KV cache, beam search with 3 beams, fp32 and q8; cancellation
// latency and the calling thread's event-loop lag. The model runs in a worker thread behind Seq2SeqService, with
// the same message loop and cancellation checkpoint as the model worker.
//
//   node esbuild.js && node out/bench/seq2seq.js [--tokens N] [--runs N] [--input N]
//
// The model is generated once into .cache/t5-small with /usr/bin/python3 (Debian python3-torch), ~600 MB.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Seq2SeqWorkerRequest, Seq2SeqWorkerResults, StreamedUpdate } from '../../src/protocol/summarize';
import type { GenerationOptions, GenerationResult } from '../../src/protocol/summarize';
import type { Dtype, LocalModel, WorkerError } from '../../src/protocol/worker';
import { CodedError, toWorkerError } from '../../src/worker/errors';
import { Seq2SeqService } from '../../src/worker/seq2seq/seq2seqService';
import { repoRoot } from '../harness/paths';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};

type ToWorker = { kind: 'request'; id: number; request: Seq2SeqWorkerRequest } | { kind: 'cancel'; id: number };
type FromWorker =
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: WorkerError; afterCancelMs?: number }
  | { kind: 'progress'; id: number }
  | { kind: 'stream'; id: number; update: StreamedUpdate };

function serve(): void {
  const port = parentPort!;
  const service = new Seq2SeqService();
  const cancelled = new Map<number, number>();
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'cancel') {
      cancelled.set(m.id, performance.now());
      return;
    }
    const { id, request } = m;
    const checkpoint = async (): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve));
      if (cancelled.has(id)) throw new CodedError('cancelled', 'Cancelled');
    };
    service
      .handle(request, { checkpoint, progress: () => undefined, stream: (update) => port.postMessage({ kind: 'stream', id, update }) })
      .then(
        (result) => port.postMessage({ kind: 'result', id, result }),
        (e: unknown) => {
          const at = cancelled.get(id);
          port.postMessage({ kind: 'error', id, error: toWorkerError(e), ...(at !== undefined ? { afterCancelMs: performance.now() - at } : {}) });
        },
      )
      .finally(() => cancelled.delete(id));
  });
}

/** A failed request; for a cancelled one, how long the worker took from reading the cancel to stopping. */
class RequestError extends CodedError {
  afterCancelMs: number | undefined;
}

class Client {
  private nextId = 1;
  private readonly handlers = new Map<number, (m: FromWorker) => void>();
  constructor(private readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => this.handlers.get(m.id)?.(m));
  }
  request<R extends Seq2SeqWorkerRequest>(request: R, onStream?: (u: StreamedUpdate, id: number) => void): Promise<Seq2SeqWorkerResults[R['type']]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.handlers.set(id, (m) => {
        if (m.kind === 'stream') onStream?.(m.update, id);
        else if (m.kind === 'result') resolve(m.result as Seq2SeqWorkerResults[R['type']]);
        else if (m.kind === 'error') {
          const e = new RequestError(m.error.code, m.error.message);
          e.afterCancelMs = m.afterCancelMs;
          reject(e);
        }
      });
      this.worker.postMessage({ kind: 'request', id, request });
    });
  }
  cancel(id: number): void {
    this.worker.postMessage({ kind: 'cancel', id });
  }
}

function ensureT5Small(): string {
  const dir = path.join(repoRoot, '.cache', 't5-small');
  if (!fs.existsSync(path.join(dir, 'onnx', 'decoder_model_merged.onnx'))) {
    console.log('generating a t5-small-size random T5 into .cache/t5-small (needs /usr/bin/python3 with torch)…');
    execFileSync('/usr/bin/python3', [path.join(repoRoot, 'scripts/fixtures/make_seq2seq.py'), '--t5-small', dir], { stdio: 'inherit' });
  }
  return dir;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, unit = 'ms'): string => `${x.toFixed(1)} ${unit}`;

async function main(): Promise<void> {
  const dir = ensureT5Small();
  const newTokens = arg('--tokens', 64);
  const runs = arg('--runs', 5);
  const inputTokens = arg('--input', 256);
  console.log(`t5-small-size random T5, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}`);
  console.log(`input ${inputTokens} tokens, ${newTokens} new tokens per generation (eos suppressed), median of ${runs} runs after a warm-up`);
  console.log(`load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (other processes on this machine skew the figures)\n`);
  const worker = new Worker(__filename, { workerData: { seq2seqBench: true }, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
  const client = new Client(worker);
  const text = Array.from({ length: 60 }, (_, i) => `The report number ${i} describes the river, the market and the weather of the old town.`).join(' ');

  try {
    for (const dtype of ['fp32', 'q8'] as Dtype[]) {
      const model: LocalModel = { ref: 'random-t5-small', dir, dtype };
      const t = performance.now();
      const info = await client.request({ type: 'seq2seqInfo', model });
      console.log(`[${dtype}] load ${fmt(performance.now() - t)} (worker-side ${fmt(info.loadMs)}), decoder: ${info.decoderMode}`);
      const base: GenerationOptions = { maxInputTokens: inputTokens, prefix: '' };
      const run = async (options: GenerationOptions): Promise<GenerationResult> => client.request({ type: 'generate', model, text, options: { ...base, ...options } });
      // Encoder + first decoder step, to separate the per-token cost.
      await run({ maxNewTokens: 1 });
      const firstTimes: number[] = [];
      for (let i = 0; i < runs; i++) firstTimes.push((await run({ maxNewTokens: 1 })).elapsedMs);
      const firstMs = median(firstTimes);
      console.log(`[${dtype}] encoder (${inputTokens} tokens) + first step: ${fmt(firstMs)}`);
      const configs: [string, GenerationOptions][] = [
        ['greedy, KV cache', { numBeams: 1, useCache: true }],
        ['greedy, no cache', { numBeams: 1, useCache: false }],
        ['beam 3, KV cache', { numBeams: 3, useCache: true }],
      ];
      for (const [label, options] of configs) {
        const o = { ...options, maxNewTokens: newTokens, minNewTokens: newTokens };
        await run(o);
        const times: number[] = [];
        for (let i = 0; i < runs; i++) {
          const r = await run(o);
          if (r.steps !== newTokens) throw new Error(`expected ${newTokens} steps, got ${r.steps}`);
          times.push(r.elapsedMs);
        }
        const ms = median(times);
        const perToken = (ms - firstMs) / (newTokens - 1);
        console.log(`[${dtype}] ${label.padEnd(17)} ${fmt(ms)} for ${newTokens} tokens → ${(newTokens / (ms / 1000)).toFixed(1)} tokens/s end to end, ${(1000 / perToken).toFixed(1)} tokens/s decoding (${fmt(perToken)}/token)`);
      }

      // Cancellation at an arbitrary moment of a long generation (a timer after the first token, so the cancel
      // lands anywhere inside a decoder step); time until the worker's answer arrives.
      const latencies: number[] = [];
      const workerSide: number[] = [];
      for (let i = 0; i < 7; i++) {
        let cancelledAt = 0;
        const pending = client.request({ type: 'generate', model, text, stream: true, options: { ...base, maxNewTokens: 400, minNewTokens: 400 } }, (u, id) => {
          if (u.step === 1) setTimeout(() => ((cancelledAt = performance.now()), client.cancel(id)), 100 + i * 13);
        });
        await pending.then(
          () => {
            throw new Error('generation was not cancelled');
          },
          (e: unknown) => {
            if (!(e instanceof RequestError) || e.code !== 'cancelled') throw e;
            workerSide.push(e.afterCancelMs ?? NaN);
          },
        );
        latencies.push(performance.now() - cancelledAt);
      }
      console.log(
        `[${dtype}] cancel posted → cancelled answer received: median ${fmt(median(latencies))}, max ${fmt(Math.max(...latencies))}; ` +
          `worker read the cancel → stopped: median ${fmt(median(workerSide))}, max ${fmt(Math.max(...workerSide))}`,
      );

      // Event-loop lag of this (calling) thread during a streamed greedy generation.
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      let streamed = 0;
      await client.request({ type: 'generate', model, text, stream: true, options: { ...base, maxNewTokens: newTokens, minNewTokens: newTokens } }, () => streamed++);
      h.disable();
      console.log(`[${dtype}] calling thread while streaming ${streamed} updates: event-loop lag p99 ${fmt(h.percentile(99) / 1e6)}, max ${fmt(h.max / 1e6)}\n`);
    }
  } finally {
    await worker.terminate();
  }
  console.log(`load average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

if (!isMainThread && (workerData as { seq2seqBench?: boolean } | undefined)?.seq2seqBench) serve();
else
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
