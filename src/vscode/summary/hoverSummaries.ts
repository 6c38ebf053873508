import * as vscode from 'vscode';
import type { LocalModel } from '../../protocol/worker';
import { USE_LITE_REF, modelDisplayName } from '../../core/models/modelRef';
import type { EmbedFunction } from '../../core/summarize/extractive';
import type { ModelWorkerClient } from '../../core/worker/modelWorkerClient';
import type { Config } from '../config';
import { errorMessage, isCancellation } from '../errors';
import { escapeMarkdown } from '../markdown';
import type { Logger } from '../logger';
import type { CachedSummary } from './summaryCache';
import { SummaryCache } from './summaryCache';
import type { Seq2SeqModels } from './seq2seqModels';
import { abstractiveSummary, extractiveSummary } from '../../core/summarize/summarizer';
import type { LookupResult, SummaryStore } from './summaryStore';
import type { SummaryTarget, SummaryTargets } from './summaryTargets';

/** The bundled encoder: hover summaries in extractive mode never need a download. */
const BUNDLED: LocalModel = { ref: USE_LITE_REF, dir: '', dtype: 'fp32' };

/** What a hover summarises: a documented symbol without its doc comment, else the target's text. */
function hoverText(target: SummaryTarget): string {
  return target.undocumentedText ?? target.text;
}

/** Hover summaries are short: sentences picked, characters, and generated tokens at most. */
const HOVER_SENTENCES = 2;
const HOVER_CHARS = 400;
const HOVER_TOKENS = 60;

/**
 * Summaries of hover targets: the key that identifies one (mode, model, language and the text's content), and
 * how to compute it — extractive with the bundled encoder, or abstractive with `bertLens.summary.hoverModel`
 * (falling back to extractive, with a note, when that model cannot be had).
 */
export class HoverSummaries {
  constructor(
    readonly store: SummaryStore,
    readonly targets: SummaryTargets,
    private readonly config: Config,
    private readonly worker: ModelWorkerClient,
    private readonly seq2seq: Seq2SeqModels,
    private readonly logger: Logger,
  ) {}

  /** Smallest symbol or paragraph, in lines, that gets a summary hover. */
  get minLines(): number {
    return this.config.settings.hover.minLines;
  }

  /** True when hovers are on for documents of `languageId`. */
  enabledFor(document: vscode.TextDocument): boolean {
    const { enabled, languages } = this.config.settings.hover;
    if (!enabled || document.uri.scheme === 'output') return false;
    return languages.includes('*') || languages.includes(document.languageId);
  }

  /** The cache key of `target`'s summary under the current settings. */
  keyOf(document: vscode.TextDocument, target: SummaryTarget): string {
    const { mode } = this.config.settings.hover;
    const model = mode === 'abstractive' ? `${this.seq2seq.ref('hover')}\u0000${this.config.settings.summary.dtype}` : USE_LITE_REF;
    return SummaryCache.key('hover-v2', mode, model, document.languageId, hoverText(target));
  }

  /** Looks `target` up as a user request, waiting at most `budgetMs`. */
  lookup(document: vscode.TextDocument, target: SummaryTarget, budgetMs: number): Promise<LookupResult> {
    return this.store.lookup(this.keyOf(document, target), (signal) => this.compute(document.languageId, target, signal, true), budgetMs);
  }

  /** Summarises `target` in the background unless it is cached (abstractive mode: only when the model needs no download). */
  warm(document: vscode.TextDocument, target: SummaryTarget): Promise<void> {
    if (this.config.settings.hover.mode === 'abstractive' && !this.seq2seq.isLocal('hover') && !this.seq2seq.unavailableReason('hover')) return Promise.resolve();
    return this.store.warm(this.keyOf(document, target), (signal) => this.compute(document.languageId, target, signal, false));
  }

  private async compute(languageId: string, target: SummaryTarget, signal: AbortSignal | undefined, interactive: boolean): Promise<CachedSummary> {
    const summary = await this.summarise(languageId, hoverText(target), signal, interactive);
    if (target.undocumentedText === undefined) return summary;
    // The doc comment is in the language's hover right above: say what the body does instead.
    const note = ['of the body (its doc comment is shown above)', summary.note].filter(Boolean).join('; ');
    return { ...summary, note };
  }

  private async summarise(languageId: string, text: string, signal: AbortSignal | undefined, interactive: boolean): Promise<CachedSummary> {
    let note: string | undefined;
    if (this.config.settings.hover.mode === 'abstractive') {
      const known = this.seq2seq.unavailableReason('hover');
      if (!known) {
        try {
          if (!interactive && !this.seq2seq.isLocal('hover')) throw new vscode.CancellationError();
          const model = await this.seq2seq.resolve('hover', signal);
          const r = await abstractiveSummary(this.worker, model, text, { options: { maxNewTokens: HOVER_TOKENS }, ...(signal ? { signal } : {}) });
          return { text: r.text, mode: 'abstractive', model: model.ref, ...(r.truncated ? { note: 'read the beginning only' } : {}) };
        } catch (e) {
          if (isCancellation(e) || signal?.aborted) throw e;
          this.seq2seq.markUnavailable('hover', errorMessage(e));
          note = `${this.seq2seq.ref('hover')} is not available: ${errorMessage(e)}`;
        }
      } else note = `${this.seq2seq.ref('hover')} is not available: ${known}`;
    }
    const embed: EmbedFunction = async (texts, s) => (await this.worker.request({ type: 'embed', model: BUNDLED, texts }, s ? { signal: s } : {})).vectors;
    const r = await extractiveSummary(text, languageId, embed, { count: HOVER_SENTENCES, maxChars: HOVER_CHARS, ...(signal ? { signal } : {}) });
    if (r.sentences.length === 0) note = note ?? 'nothing to summarise';
    this.logger.info(`hover summary (${r.source}, ${r.sentences.length} of ${r.totalSentences})`);
    return { text: r.text, mode: 'extractive', model: USE_LITE_REF, ...(note ? { note } : {}), ...(r.source === 'code' ? { code: true } : {}) };
  }

  /** The hover's Markdown for a summary. */
  static render(summary: CachedSummary, languageId: string): vscode.MarkdownString {
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**Summary** · ${summary.mode} · ${escapeMarkdown(modelDisplayName(summary.model))}\n\n`);
    if (summary.code) md.appendCodeblock(summary.text, languageId);
    else if (summary.text !== '') md.appendMarkdown(escapeMarkdown(summary.text));
    if (summary.note) md.appendMarkdown(`\n\n*${escapeMarkdown(summary.note)}*`);
    return md;
  }
}
