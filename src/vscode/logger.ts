import * as vscode from 'vscode';

/** One output channel for the whole extension; each component logs through its own tagged logger. */
export class Logger {
  constructor(
    private readonly channel: vscode.LogOutputChannel,
    private readonly component: string,
  ) {}

  static create(): { channel: vscode.LogOutputChannel; logger: Logger } {
    const channel = vscode.window.createOutputChannel('BERT Lens', { log: true });
    return { channel, logger: new Logger(channel, 'core') };
  }

  child(component: string): Logger {
    return new Logger(this.channel, component);
  }

  /** Expected conditions worth a trace (stale ids from a page, refused requests): hidden at the default log level. */
  debug(message: string): void {
    this.channel.debug(`[${this.component}] ${message}`);
  }

  info(message: string): void {
    this.channel.info(`[${this.component}] ${message}`);
  }

  warn(message: string): void {
    this.channel.warn(`[${this.component}] ${message}`);
  }

  error(message: string, error?: unknown): void {
    const detail = error instanceof Error ? `: ${error.stack ?? error.message}` : error !== undefined ? `: ${String(error)}` : '';
    this.channel.error(`[${this.component}] ${message}${detail}`);
  }

  show(): void {
    this.channel.show(true);
  }
}

export interface RepeatLimit {
  /** Lines written in full per interval. */
  readonly first: number;
  readonly intervalMs: number;
}

/**
 * Warnings that can come in floods (invalid messages from a page): the first {@link RepeatLimit.first} of each
 * interval are written in full, the rest are counted, and one line at the end of the interval says how many were left
 * out. So a page that sends thousands of bad messages costs a few lines a minute.
 */
export class RepeatedWarnings implements vscode.Disposable {
  private windowStart = -Infinity;
  private written = 0;
  private suppressed = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly logger: Logger,
    /** What is repeated, for the summary line: "invalid messages from the Search panel". */
    private readonly what: string,
    private readonly limit: RepeatLimit = { first: 5, intervalMs: 60_000 },
  ) {}

  /** `message` may be a function, so what is only counted costs nothing to describe. */
  warn(message: string | (() => string)): void {
    const now = performance.now();
    if (now - this.windowStart >= this.limit.intervalMs) {
      this.flush();
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written < this.limit.first) {
      this.written++;
      const text = typeof message === 'string' ? message : message();
      this.logger.warn(this.written === this.limit.first ? `${text} (further ${this.what} are counted, not logged, for ${this.limit.intervalMs / 1000} s)` : text);
      return;
    }
    this.suppressed++;
    this.timer ??= setTimeout(() => this.flush(), this.windowStart + this.limit.intervalMs - now);
  }

  /** Writes the count of what was left out, if anything was. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed === 0) return;
    this.logger.warn(`${this.suppressed} more ${this.what} in ${this.limit.intervalMs / 1000} s were not logged`);
    this.suppressed = 0;
  }

  dispose(): void {
    this.flush();
  }
}
