import * as vscode from 'vscode';
import { HoverSummaries } from './hoverSummaries';

/** Longest a hover waits for a summary (symbols and the summary together), in milliseconds. */
export const HOVER_BUDGET_MS = 250;

/**
 * Summary hovers for functions, classes and methods (on their names), Markdown sections (on their headings) and
 * long paragraphs of Markdown and plain text. Never waits longer than {@link HOVER_BUDGET_MS}: a summary that is
 * not ready by then is said to be on its way, and the next hover shows it.
 */
export class SummaryHoverProvider implements vscode.HoverProvider {
  /** Hovers answered, by outcome (read by tests and the benchmark). */
  readonly outcomes = { summary: 0, pending: 0, failed: 0, none: 0 };
  /** Milliseconds each of the last hovers with a summary target took (newest last, at most 1000). */
  readonly latencies: { readonly ms: number; readonly cached: boolean }[] = [];

  constructor(private readonly summaries: HoverSummaries) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    if (!this.summaries.enabledFor(document)) return undefined;
    const started = performance.now();
    const target = await withinBudget(this.summaries.targets.at(document, position, this.summaries.minLines), HOVER_BUDGET_MS);
    if (!target || token.isCancellationRequested) {
      this.outcomes.none++;
      return undefined;
    }
    const result = await this.summaries.lookup(document, target, HOVER_BUDGET_MS - (performance.now() - started));
    this.latencies.push({ ms: performance.now() - started, cached: result.kind === 'ready' && result.cached });
    if (this.latencies.length > 1000) this.latencies.shift();
    if (token.isCancellationRequested) return undefined;
    switch (result.kind) {
      case 'ready':
        this.outcomes.summary++;
        return new vscode.Hover(HoverSummaries.render(result.summary, document.languageId), target.trigger);
      case 'pending':
        this.outcomes.pending++;
        return new vscode.Hover(new vscode.MarkdownString('$(sync~spin) **Summary**: summarising… hover again in a moment', true), target.trigger);
      case 'failed':
        this.outcomes.failed++;
        return new vscode.Hover(new vscode.MarkdownString(`**Summary**: could not summarise (${result.message.replace(/[\\`*_[\]<>]/g, '\\$&')})`), target.trigger);
    }
  }
}

/** `promise`'s value if it settles within `ms`, else undefined (it keeps running, and its result is cached). */
function withinBudget<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]).finally(() => clearTimeout(timer));
}
