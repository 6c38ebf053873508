/**
 * Entry point of the model worker thread. This file and the backends it loads are the only code that imports
 * transformers.js and onnxruntime; the extension host and the CLI talk to it through {@link HostToWorker} messages.
 */
import { parentPort } from 'node:worker_threads';
import { isHostToWorker, type HostToWorker, type WorkerRequest, type WorkerResults, type WorkerToHost } from '../protocol/worker';
import { BertModel } from './bertBackend';
import { CodedError, toWorkerError } from './errors';

const port = parentPort;
if (!port) throw new Error('modelWorker must run in a worker thread');

const models = new Map<string, Promise<BertModel>>();
const cancelled = new Set<number>();

function post(message: WorkerToHost, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function modelFor(request: WorkerRequest): Promise<BertModel> {
  const key = `${request.model.dir}\u0000${request.model.dtype}`;
  let model = models.get(key);
  if (!model) {
    model = BertModel.load(request.model);
    models.set(key, model);
    // A failed load is not cached: the user may fix the folder and retry.
    model.catch(() => models.delete(key));
  }
  return model;
}

/** Gives queued messages (cancellations) a chance to arrive, then stops if this request was cancelled. */
async function checkpoint(id: number): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (cancelled.has(id)) throw new CodedError('cancelled', 'Cancelled');
}

async function handle(id: number, request: WorkerRequest): Promise<WorkerResults[keyof WorkerResults]> {
  switch (request.type) {
    case 'modelInfo':
      return (await modelFor(request)).info;
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
    case 'unload': {
      const key = `${request.model.dir}\u0000${request.model.dtype}`;
      const model = models.get(key);
      models.delete(key);
      if (model) await (await model).dispose();
      return model !== undefined;
    }
  }
}

function transferables(result: unknown): ArrayBuffer[] {
  if (typeof result === 'object' && result !== null) {
    for (const key of ['vectors', 'weights'] as const) {
      const v = (result as Record<string, unknown>)[key];
      if (v instanceof Float32Array && v.buffer instanceof ArrayBuffer) return [v.buffer];
    }
  }
  return [];
}

port.on('message', (message: HostToWorker) => {
  if (!isHostToWorker(message)) return;
  if (message.kind === 'cancel') {
    cancelled.add(message.id);
    return;
  }
  const { id, request } = message;
  handle(id, request).then(
    (result) => post({ kind: 'result', id, result }, transferables(result)),
    (e: unknown) => post({ kind: 'error', id, error: toWorkerError(e) }),
  ).finally(() => cancelled.delete(id));
});

post({ kind: 'ready' });
