import * as vscode from 'vscode';

/**
 * Where a model stands in this window. `available`: on disk (downloaded, a folder, or bundled) but not loaded by
 * the worker yet; `notDownloaded`: a Hub model whose files are not in the cache.
 */
export type ModelState =
  | { readonly kind: 'notDownloaded' }
  | { readonly kind: 'downloading'; /** 0–100 */ readonly percent: number }
  | { readonly kind: 'available' }
  | { readonly kind: 'loading' }
  | { readonly kind: 'ready'; /** the worker's load time, ms */ readonly loadMs?: number }
  | { readonly kind: 'error'; readonly message: string };

export interface ModelStateChange {
  /** The model as configured (Hub id, folder, `bundled:…`). */
  readonly model: string;
  readonly state: ModelState;
}

/** Short words for a state, e.g. in the status bar: "downloading 42%". */
export function describeState(state: ModelState): string {
  switch (state.kind) {
    case 'notDownloaded':
      return 'not downloaded';
    case 'downloading':
      return `downloading ${Math.floor(state.percent)}%`;
    case 'available':
      return 'not loaded';
    case 'loading':
      return 'loading';
    case 'ready':
      return 'ready';
    case 'error':
      return 'error';
  }
}

/**
 * The state of every model this window has dealt with, by model reference, with an event on each change.
 * Models not seen yet get their state from `initial` (is it on disk?).
 */
export class ModelStates implements vscode.Disposable {
  private readonly states = new Map<string, ModelState>();
  private readonly emitter = new vscode.EventEmitter<ModelStateChange>();
  readonly onDidChange = this.emitter.event;

  constructor(private readonly initial: (model: string) => ModelState) {}

  get(model: string): ModelState {
    return this.states.get(model) ?? this.initial(model);
  }

  set(model: string, state: ModelState): void {
    const before = this.states.get(model);
    if (before && JSON.stringify(before) === JSON.stringify(state)) return;
    this.states.set(model, state);
    this.emitter.fire({ model, state });
  }

  /** Forgets what is known about `model` (deleted from the cache, setting changed): its state is derived again. */
  reset(model: string): void {
    if (!this.states.delete(model)) return;
    this.emitter.fire({ model, state: this.get(model) });
  }

  /** Tracks a worker load of `model`: loading, then ready or error. Resolves/rejects like `load`. */
  async track<T extends { loadMs?: number }>(model: string, load: Promise<T>, isCancellation: (e: unknown) => boolean): Promise<T> {
    if (this.get(model).kind !== 'ready') this.set(model, { kind: 'loading' });
    try {
      const result = await load;
      this.set(model, result.loadMs === undefined ? { kind: 'ready' } : { kind: 'ready', loadMs: result.loadMs });
      return result;
    } catch (e) {
      if (isCancellation(e)) this.reset(model);
      else this.set(model, { kind: 'error', message: e instanceof Error ? e.message : String(e) });
      throw e;
    }
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
