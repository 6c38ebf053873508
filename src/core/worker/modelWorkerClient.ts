import { Worker } from 'node:worker_threads';
import type {
  HostToWorker,
  WorkerError,
  WorkerErrorCode,
  WorkerProgress,
  WorkerRequest,
  WorkerResultOf,
  WorkerNotice,
  WorkerToHost,
  RuntimeInfo,
} from '../../protocol/worker';
import type { StreamedUpdate } from '../../protocol/summarize';

/** A failed worker request, with the protocol code so callers can react (e.g. offer a model picker on modelNotFound). */
export class WorkerRequestError extends Error {
  constructor(
    readonly code: WorkerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WorkerRequestError';
  }
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: WorkerProgress) => void;
  /** Tokens as a generation produces them (requests sent with `stream: true`). */
  readonly onStream?: (update: StreamedUpdate) => void;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: WorkerRequestError): void;
  onProgress?: (progress: WorkerProgress) => void;
  onStream?: (update: StreamedUpdate) => void;
}

export interface ModelWorkerClientOptions {
  /** Path of the bundled worker script (dist/worker.js). */
  readonly workerScript: string;
  /** Called with worker log lines and lifecycle events. */
  readonly log?: (message: string) => void;
  /**
   * Extra environment for the worker (e.g. BERT_LENS_FORCE_WASM, BERT_LENS_WORKER_FAULT in tests); a function is
   * asked at each start, so settings it reads apply from the next (re)start.
   */
  readonly env?: Readonly<Record<string, string>> | (() => Readonly<Record<string, string>>);
  /** Called with what the worker tells unasked (which onnxruntime it runs on), once per worker start. */
  readonly onNotice?: (notice: WorkerNotice) => void;
}

/**
 * Host side of the model worker: starts it on first use, matches responses to requests by id, forwards
 * cancellation, and restarts it after a crash (every request in flight then fails with code `crashed`).
 */
export class ModelWorkerClient {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;
  /** Number of worker threads started so far (restarts included). */
  starts = 0;
  /** The onnxruntime the running (or last) worker uses; undefined until a worker has started. */
  runtime: RuntimeInfo | undefined;

  constructor(private readonly options: ModelWorkerClientOptions) {}

  /** Starts the worker if it is not running and resolves when it has loaded its code. */
  start(): Promise<void> {
    if (this.disposed) return Promise.reject(new WorkerRequestError('internal', 'The model worker has been shut down'));
    if (this.ready) return this.ready;
    const worker = new Worker(this.options.workerScript, {
      env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', ...(typeof this.options.env === 'function' ? this.options.env() : this.options.env) },
      stdout: false,
      stderr: false,
    });
    this.worker = worker;
    this.starts++;
    this.ready = new Promise<void>((resolve, reject) => {
      const onEarlyExit = (code: number): void =>
        reject(new WorkerRequestError('crashed', `The model worker exited during start-up (code ${code})`));
      worker.once('exit', onEarlyExit);
      worker.on('message', (message: WorkerToHost) => {
        if (message.kind === 'ready') {
          worker.off('exit', onEarlyExit);
          resolve();
        } else this.onMessage(message);
      });
    });
    worker.on('error', (e) => this.options.log?.(`model worker error: ${e.stack ?? e.message}`));
    worker.on('exit', (code) => this.onExit(worker, code));
    this.ready.catch(() => undefined);
    return this.ready;
  }

  /** Sends a request and resolves with its typed result; rejects with a {@link WorkerRequestError}. */
  async request<R extends WorkerRequest>(request: R, options: RequestOptions = {}): Promise<WorkerResultOf<R>> {
    const { signal } = options;
    if (signal?.aborted) throw new WorkerRequestError('cancelled', 'Cancelled');
    await this.start();
    if (signal?.aborted) throw new WorkerRequestError('cancelled', 'Cancelled');
    const worker = this.worker!;
    const id = this.nextId++;
    return new Promise<WorkerResultOf<R>>((resolve, reject) => {
      const onAbort = (): void => {
        this.post(worker, { kind: 'cancel', id });
        // Answer the caller at once; the worker stops at its next checkpoint and its late answer is dropped.
        this.settle(id)?.reject(new WorkerRequestError('cancelled', 'Cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r as WorkerResultOf<R>);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.onStream ? { onStream: options.onStream } : {}),
      });
      this.post(worker, { kind: 'request', id, request });
    });
  }

  /** Terminates the worker; later requests start a fresh one unless the client was disposed. */
  /**
   * Stops the worker; later requests start a fresh one unless the client was disposed. Requests in flight fail.
   * The worker is asked to stop and exits once inference already running has finished: onnxruntime aborts the
   * whole process (the extension host!) if its thread is terminated mid-run. Only a worker that does not stop
   * within `graceMs` is terminated outright.
   */
  async restart(graceMs = 30_000): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ kind: 'shutdown' } satisfies HostToWorker);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([exited, late])) === 'late') {
      this.options.log?.(`model worker did not stop within ${graceMs} ms; terminating it`);
      await worker.terminate();
    }
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.restart();
  }

  /** Thread id of the running worker, for diagnostics; undefined when none runs. */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  private post(worker: Worker, message: HostToWorker): void {
    worker.postMessage(message);
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }

  private onMessage(message: WorkerToHost): void {
    switch (message.kind) {
      case 'result':
        this.settle(message.id)?.resolve(message.result);
        break;
      case 'error':
        this.settle(message.id)?.reject(fromWorkerError(message.error));
        break;
      case 'progress':
        this.pending.get(message.id)?.onProgress?.(message.progress);
        break;
      case 'stream':
        this.pending.get(message.id)?.onStream?.(message.update);
        break;
      case 'notice':
        if (message.notice.type === 'runtime') this.runtime = message.notice.runtime;
        this.options.onNotice?.(message.notice);
        break;
      case 'ready':
        break;
    }
  }

  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    this.ready = undefined;
    if (!this.disposed) this.options.log?.(`model worker stopped (exit code ${code}); it restarts on the next request`);
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) {
      p.reject(new WorkerRequestError('crashed', `The model worker stopped unexpectedly (exit code ${code}). The request was not completed; try again.`));
    }
  }
}

function fromWorkerError(e: WorkerError): WorkerRequestError {
  return new WorkerRequestError(e.code, e.message);
}
