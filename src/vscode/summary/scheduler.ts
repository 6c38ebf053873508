/**
 * Two lanes of summary work on one model worker: user requests (a hover, a panel summary) run at once; background
 * work (warming hovers for the visible symbols) runs one job at a time, only while no user request runs, and is
 * aborted the moment one starts. No `vscode` import.
 */

export type Job<T> = (signal: AbortSignal) => Promise<T>;

interface Queued {
  readonly job: Job<unknown>;
  readonly resolve: (value: unknown) => void;
}

/** Thrown into a background job's signal when a user request or {@link SummaryScheduler.cancelBackground} stops it. */
export class PreemptedError extends Error {
  constructor() {
    super('Background summary stopped');
    this.name = 'PreemptedError';
  }
}

export class SummaryScheduler {
  private activeUser = 0;
  private queue: Queued[] = [];
  private running: AbortController | undefined;
  private pumping = false;
  /** Background jobs started, finished, and stopped before they finished (read by tests and the stats command). */
  readonly counts = { backgroundStarted: 0, backgroundDone: 0, backgroundStopped: 0 };

  constructor(private readonly options: { readonly pauseMs?: number } = {}) {}

  /** True while a user request runs. */
  get userBusy(): boolean {
    return this.activeUser > 0;
  }

  get backgroundPending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /** Runs `job` now as a user request; a running background job is aborted first. */
  async user<T>(job: () => Promise<T>): Promise<T> {
    this.activeUser++;
    this.running?.abort(new PreemptedError());
    try {
      return await job();
    } finally {
      this.activeUser--;
      if (this.activeUser === 0) this.pump();
    }
  }

  /**
   * Queues `job` in the background lane. Resolves with its result, or undefined when it was cancelled or
   * preempted (it is then not retried: callers queue it again when the editor is idle again).
   */
  background<T>(job: Job<T>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve) => {
      this.queue.push({ job, resolve: resolve as (value: unknown) => void });
      this.pump();
    });
  }

  /** Drops queued background jobs and aborts the running one. */
  cancelBackground(): void {
    const dropped = this.queue;
    this.queue = [];
    for (const q of dropped) q.resolve(undefined);
    this.running?.abort(new PreemptedError());
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void (async () => {
      try {
        while (this.activeUser === 0 && this.queue.length > 0) {
          const next = this.queue.shift()!;
          const controller = new AbortController();
          this.running = controller;
          this.counts.backgroundStarted++;
          try {
            const result = await next.job(controller.signal);
            if (controller.signal.aborted) {
              this.counts.backgroundStopped++;
              next.resolve(undefined);
            } else {
              this.counts.backgroundDone++;
              next.resolve(result);
            }
          } catch {
            if (controller.signal.aborted) this.counts.backgroundStopped++;
            next.resolve(undefined);
          } finally {
            this.running = undefined;
          }
          // Leave the worker a moment between background jobs so a user request never queues behind a run of them.
          await new Promise((r) => setTimeout(r, this.options.pauseMs ?? 20));
        }
      } finally {
        this.pumping = false;
      }
    })();
  }
}
