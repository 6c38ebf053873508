/**
 * Hover summaries by key: answers from the cache, starts a computation on a miss (a user request, which stops
 * background work), waits for it only as long as the caller's budget, and keeps counters for tests and the stats
 * command. Background warming goes through the same place, so a symbol is never summarised twice at once.
 * No `vscode` import.
 */
import type { CachedSummary, SummaryCache } from './summaryCache';
import type { SummaryScheduler } from './scheduler';

/** Counters of hover summaries since activation. */
export interface SummaryStats {
  /** Lookups answered from the cache (memory or disk). */
  readonly hits: number;
  /** Lookups that found nothing cached. */
  readonly misses: number;
  /** Summaries computed (user and background). */
  readonly computed: number;
  /** Of those, computed in the background. */
  readonly backgroundComputed: number;
  /** Background computations stopped by an edit, a scroll or a user request. */
  readonly preempted: number;
  readonly failed: number;
  /** Summaries in the cache now. */
  readonly cached: number;
}

/** What a lookup found: the summary, or that it is still being made, or why it could not be made. */
export type LookupResult =
  | { readonly kind: 'ready'; readonly summary: CachedSummary; readonly cached: boolean }
  | { readonly kind: 'pending' }
  | { readonly kind: 'failed'; readonly message: string };

export type Compute = (signal: AbortSignal | undefined) => Promise<CachedSummary>;

interface InFlight {
  readonly promise: Promise<CachedSummary | undefined>;
  readonly lane: 'user' | 'background';
}

export class SummaryStore {
  private readonly inFlight = new Map<string, InFlight>();
  private lastError: string | undefined;
  private readonly counters = { hits: 0, misses: 0, computed: 0, backgroundComputed: 0, preempted: 0, failed: 0 };

  constructor(
    readonly cache: SummaryCache,
    private readonly scheduler: SummaryScheduler,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  get stats(): SummaryStats {
    return { ...this.counters, cached: this.cache.size };
  }

  /** The cached summary for `key`, without counting a hit or a miss. */
  peek(key: string): CachedSummary | undefined {
    return this.cache.has(key) ? this.cache.get(key) : undefined;
  }

  /**
   * The summary for `key`: from the cache at once, else computed as a user request, waiting at most `budgetMs`.
   * A computation that outlasts the budget goes on, and its result is cached for the next lookup.
   */
  async lookup(key: string, compute: Compute, budgetMs: number): Promise<LookupResult> {
    const hit = this.cache.get(key);
    if (hit) {
      this.counters.hits++;
      return { kind: 'ready', summary: hit, cached: true };
    }
    this.counters.misses++;
    let running = this.inFlight.get(key);
    if (!running || running.lane === 'background') running = this.start(key, compute);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, budgetMs))));
    try {
      const outcome = await Promise.race([running.promise, timeout]);
      if (outcome === 'timeout') return { kind: 'pending' };
      if (outcome) return { kind: 'ready', summary: outcome, cached: false };
      return { kind: 'failed', message: this.lastError ?? 'the summary could not be made' };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Queues `key` for background computation unless it is cached or already being made. */
  warm(key: string, compute: Compute): Promise<void> {
    if (this.cache.has(key) || this.inFlight.has(key)) return Promise.resolve();
    let outcome: 'done' | 'failed' | 'stopped' = 'stopped';
    const promise = this.scheduler
      .background(async (signal) => {
        const done = this.peek(key);
        if (done) return done;
        let summary: CachedSummary;
        try {
          summary = await compute(signal);
        } catch (e) {
          if (!signal.aborted) {
            outcome = 'failed';
            this.counters.failed++;
            this.log(`background summary failed: ${e instanceof Error ? e.message : String(e)}`);
          }
          throw e;
        }
        if (signal.aborted) return undefined;
        this.store(key, summary);
        this.counters.backgroundComputed++;
        outcome = 'done';
        return summary;
      })
      .then((summary) => {
        if (outcome === 'stopped') this.counters.preempted++;
        return summary;
      });
    const entry: InFlight = { promise, lane: 'background' };
    this.inFlight.set(key, entry);
    void promise.finally(() => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    });
    return promise.then(() => undefined);
  }

  private start(key: string, compute: Compute): InFlight {
    const promise = this.scheduler
      .user(async () => {
        const done = this.peek(key);
        if (done) return done;
        const summary = await compute(undefined);
        this.store(key, summary);
        return summary;
      })
      .catch((e: unknown): undefined => {
        this.counters.failed++;
        this.lastError = e instanceof Error ? e.message : String(e);
        this.log(`hover summary failed: ${this.lastError}`);
        return undefined;
      });
    const entry: InFlight = { promise, lane: 'user' };
    this.inFlight.set(key, entry);
    void promise.finally(() => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    });
    return entry;
  }

  private store(key: string, summary: CachedSummary): void {
    this.cache.set(key, summary);
    this.counters.computed++;
  }
}
