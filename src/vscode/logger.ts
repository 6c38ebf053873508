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
