/**
 * Entry point of the model worker thread. This file and the backends it loads are the only code that imports
 * transformers.js and onnxruntime; the extension host and the CLI talk to it through {@link HostToWorker} messages.
 */
import { parentPort } from 'node:worker_threads';
import { isHostToWorker, type HostToWorker, type LocalModel, type WorkerRequest, type WorkerResults, type WorkerToHost } from '../protocol/worker';
import { packLayer, packLayerMeans, packThumbnails, thumbnailSize } from '../core/attention/pack';
import { USE_LITE_REF, modelDisplayName } from '../core/models/modelRef';
import { BertModel } from './bertBackend';
import type { EncoderModel } from './encoderModel';
import { Seq2SeqService } from './seq2seq/seq2seqService';
import { UseEncoder } from './use/useEncoder';
import { CodedError, toWorkerError } from './errors';
import { LoadedModels, modelLimitsFrom } from './loadedModels';
import { runtimeInfo } from './runtime';

const port = parentPort;
if (!port) throw new Error('modelWorker must run in a worker thread');

/** Every model the worker holds, encoders and seq2seq alike, within the host's limits (count and idle time). */
const loaded = new LoadedModels(modelLimitsFrom(process.env));
const seq2seq = new Seq2SeqService(loaded);
const cancelled = new Set<number>();
/**
 * What recent `attentionView` results came from, newest last: every layer in 16 bits (half the memory of float32)
 * for layer requests, and the input, so an export can compute the full-precision maps again.
 */
interface KeptAttention {
  readonly request: Extract<WorkerRequest, { type: 'attentionView' }>;
  readonly layers: readonly Uint16Array[];
}
const keptMaps = new Map<number, KeptAttention>();
const KEPT_MAPS = 2;
let nextMapsId = 1;

function keptMapsFor(id: number): KeptAttention {
  const kept = keptMaps.get(id);
  if (!kept) throw new CodedError('expired', 'These attention maps are no longer kept; inspect the text again.');
  return kept;
}

function post(message: WorkerToHost, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function encoderKey(local: LocalModel): string {
  return `encoder\u0000${local.ref}\u0000${local.dir}\u0000${local.dtype}`;
}

/** A model that failed to load fails again at once while its files stay as they were; fixing them retries. */
function modelFor({ model: local }: { model: LocalModel }): Promise<EncoderModel> {
  return loaded.get<EncoderModel>(encoderKey(local), local.dir, () => (local.ref === USE_LITE_REF ? UseEncoder.load(local.dir || undefined) : BertModel.load(local)));
}

/** Gives queued messages (cancellations) a chance to arrive, then stops if this request was cancelled. */
async function checkpoint(id: number): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (cancelled.has(id)) throw new CodedError('cancelled', 'Cancelled');
  if (BERT_LENS_TEST_HOOKS && process.env.BERT_LENS_WORKER_FAULT === 'crash') await injectCrash();
}


/**
 * Fault injection for tests (BERT_LENS_WORKER_FAULT=crash): an uncaught exception between two inference runs, the
 * way a bug in the worker would surface, so tests can check that the host fails the request and restarts.
 */
function injectCrash(): Promise<never> {
  setImmediate(() => {
    throw new Error('Injected worker crash (BERT_LENS_WORKER_FAULT)');
  });
  return new Promise<never>(() => undefined);
}

async function handle(id: number, request: WorkerRequest): Promise<WorkerResults[keyof WorkerResults]> {
  switch (request.type) {
    case 'modelInfo': {
      const info = (await modelFor(request)).info;
      const displayName = modelDisplayName(info.ref);
      return displayName === info.ref ? info : { ...info, displayName };
    }
    case 'embed': {
      const model = await modelFor(request);
      return model.embed(request.texts, async (done, total) => {
        await checkpoint(id);
        if (total > 16) post({ kind: 'progress', id, progress: { message: 'Embedding', done, total } });
      });
    }
    case 'attention': {
      const model = await modelFor(request);
      await checkpoint(id);
      return model.attentionMaps(request.text, request.windowStart ?? 0);
    }
    case 'attentionView': {
      const model = await modelFor(request);
      await checkpoint(id);
      const maps = await model.attentionMaps(request.text, request.windowStart ?? 0);
      // A newer selection may have replaced this one while the model ran: don't pack and keep what nobody wants.
      await checkpoint(id);
      const mapsId = nextMapsId++;
      keptMaps.set(mapsId, { request, layers: Array.from({ length: maps.layers }, (_, l) => packLayer(maps, l)) });
      for (const old of keptMaps.keys()) if (keptMaps.size > KEPT_MAPS) keptMaps.delete(old);
      const layer = Math.min(request.layer, maps.layers - 1);
      const size = thumbnailSize(maps.tokens.length);
      const { weights: _weights, ...rest } = maps;
      return {
        ...rest,
        id: mapsId,
        layer,
        layerWeights: keptMaps.get(mapsId)!.layers[layer]!.slice(),
        layerMeans: packLayerMeans(maps),
        thumbnailSize: size,
        thumbnails: packThumbnails(maps, size),
      };
    }
    case 'attentionLayer': {
      const { layers } = keptMapsFor(request.id);
      const packed = layers[request.layer];
      if (!packed) throw new CodedError('badRequest', `Layer ${request.layer} does not exist (${layers.length} layers)`);
      return packed.slice();
    }
    case 'attentionMaps': {
      // Full precision again from the same input (deterministic), rather than keeping float32 maps around.
      const { request: original } = keptMapsFor(request.id);
      return (await modelFor(original)).attentionMaps(original.text, original.windowStart ?? 0);
    }
    case 'tokenCounts': {
      const model = await modelFor(request);
      const counts = new Uint32Array(request.texts.length);
      for (let i = 0; i < counts.length; i++) {
        if (i % 64 === 63) await checkpoint(id);
        counts[i] = model.tokenCount(request.texts[i]!);
      }
      return counts;
    }
    case 'unload': {
      const encoder = await loaded.unload(encoderKey(request.model));
      const unloaded = await seq2seq.unload(request.model);
      return encoder || unloaded;
    }
    case 'seq2seqInfo':
    case 'countInputTokens':
    case 'generate':
    case 'summarize':
    case 'crossAttention':
      return seq2seq.handle(request, {
        checkpoint: () => checkpoint(id),
        progress: (progress) => post({ kind: 'progress', id, progress }),
        stream: (update) => post({ kind: 'stream', id, update }),
      });
  }
}

/** Buffers of the typed arrays in a result, moved instead of copied (results never share buffers with kept data). */
function transferables(result: unknown): ArrayBuffer[] {
  const values = ArrayBuffer.isView(result) ? [result] : typeof result === 'object' && result !== null ? Object.values(result) : [];
  const buffers = new Set<ArrayBuffer>();
  for (const v of values) if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) buffers.add(v.buffer);
  return [...buffers];
}

/** Requests being handled, by id. */
const running = new Map<number, Promise<void>>();
let shuttingDown = false;

/** Cancels every request, waits for inference in progress to finish (never cut short: see `shutdown`), then exits. */
async function shutdown(): Promise<void> {
  shuttingDown = true;
  for (const id of running.keys()) cancelled.add(id);
  await Promise.allSettled(running.values());
  process.exit(0);
}

port.on('message', (message: HostToWorker) => {
  if (!isHostToWorker(message)) return;
  if (message.kind === 'shutdown') {
    void shutdown();
    return;
  }
  if (message.kind === 'cancel') {
    if (running.has(message.id)) cancelled.add(message.id);
    return;
  }
  const { id, request } = message;
  if (shuttingDown) {
    post({ kind: 'error', id, error: { code: 'cancelled', message: 'The model worker is shutting down' } });
    return;
  }
  const done = handle(id, request)
    .then(
      (result) => post({ kind: 'result', id, result }, transferables(result)),
      (e: unknown) => post({ kind: 'error', id, error: toWorkerError(e) }),
    )
    .finally(() => {
      cancelled.delete(id);
      running.delete(id);
      trimWhenIdle();
    });
  running.set(id, done);
});

/** Unloads idle and surplus models once no request runs (a session is never released mid-run). */
function trimWhenIdle(): void {
  if (running.size > 0 || shuttingDown) return;
  void loaded.trim(() => running.size === 0 && !shuttingDown).catch(() => undefined);
}
if (loaded.limits.idleMs > 0) setInterval(trimWhenIdle, Math.min(loaded.limits.idleMs, 60_000)).unref();

post({ kind: 'notice', notice: { type: 'runtime', runtime: runtimeInfo } });
post({ kind: 'ready' });
