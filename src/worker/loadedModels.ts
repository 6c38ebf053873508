import type { ModelLimits } from '../protocol/modelLimits';
import { FailedLoads } from './failedLoads';

/** What the cache keeps: anything that frees its native memory on dispose (an onnxruntime session, a tokenizer). */
export { DEFAULT_MODEL_LIMITS, modelLimitsFrom, type ModelLimits } from '../protocol/modelLimits';

export interface LoadedModel {
  dispose(): Promise<void>;
}

interface Entry {
  readonly loading: Promise<LoadedModel>;
  lastUsed: number;
}

/**
 * The worker's loaded models, least recently used first out. Models are unloaded only while no request runs
 * ({@link trim} is called when the worker falls idle and on a timer), so a session is never released mid-run.
 * A model that failed to load is remembered until its files change (see {@link FailedLoads}).
 */
export class LoadedModels {
  private readonly entries = new Map<string, Entry>();
  private readonly failed = new FailedLoads();

  constructor(
    readonly limits: ModelLimits,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** The model under `key`, loading it from `dir` with `load` on first use (or after it was unloaded). */
  get<T extends LoadedModel>(key: string, dir: string, load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry) {
      entry.lastUsed = this.now();
      return entry.loading as Promise<T>;
    }
    const failure = this.failed.recall(key, dir);
    if (failure !== undefined) return Promise.reject(failure);
    const loading = load();
    this.entries.set(key, { loading, lastUsed: this.now() });
    loading.catch((e: unknown) => {
      if (this.entries.get(key)?.loading === loading) this.entries.delete(key);
      this.failed.remember(key, dir, e);
    });
    return loading;
  }

  /** Keys of the models loaded (or loading), least recently used first. */
  get keys(): string[] {
    return [...this.entries.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed).map(([key]) => key);
  }

  /** Unloads one model; true when it was loaded. */
  async unload(key: string): Promise<boolean> {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    await (await entry.loading.catch(() => undefined))?.dispose();
    return true;
  }

  /** Unloads every model whose key passes `match`; true when any was loaded. */
  async unloadWhere(match: (key: string) => boolean): Promise<boolean> {
    let any = false;
    for (const key of [...this.entries.keys()]) if (match(key)) any = (await this.unload(key)) || any;
    return any;
  }

  /**
   * Unloads the models idle for longer than the limit, then the least recently used beyond the count limit.
   * `workerIdle` says whether still no request runs; it is asked before each unload. Returns the keys unloaded.
   */
  async trim(workerIdle: () => boolean = () => true): Promise<string[]> {
    const now = this.now();
    const out: string[] = [];
    for (const key of this.keys) {
      const entry = this.entries.get(key);
      if (!entry || !workerIdle()) break;
      const unused = this.limits.idleMs > 0 && now - entry.lastUsed >= this.limits.idleMs;
      if (unused || this.entries.size > this.limits.maxLoaded) {
        await this.unload(key);
        out.push(key);
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    for (const key of [...this.entries.keys()]) await this.unload(key);
  }
}
