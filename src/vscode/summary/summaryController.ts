import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LocalModel } from '../../protocol/worker';
import type { SummaryMode, SummarySource } from '../../protocol/summaryView';
import { modelDisplayName } from '../../core/models/modelRef';
import type { ModelWorkerClient } from '../../core/worker/modelWorkerClient';
import type { Config } from '../config';
import { errorMessage, isCancellation, reportError } from '../errors';
import type { Logger } from '../logger';
import type { ModelService } from '../modelService';
import { formatAsComment } from '../../core/summarize/comments';
import type { SummaryScheduler } from './scheduler';
import { SETTING, type Seq2SeqModels } from './seq2seqModels';
import { abstractiveSummary, crossAttentionMeans, extractiveSummary, finalInput } from '../../core/summarize/summarizer';
import type { SummaryPanel, SummaryPanelRequest } from './summaryPanel';
import type { SummaryTargets } from './summaryTargets';
import { signalOf, tokenOf } from './tokens';

/** What a finished abstractive summary needs for its cross-attention view. */
interface AbstractiveContext {
  readonly model: LocalModel;
  readonly sourceText: string;
  readonly linked: boolean;
  readonly ids: readonly number[];
}

/** Contexts kept for cross-attention requests (the newest summaries). */
const KEPT_CONTEXTS = 8;

/**
 * The summary commands and the Summary panel's requests: picks the mode (abstractive when the seq2seq model can be
 * had, extractive otherwise, and says why), streams the result into the panel, cancels on request, copies,
 * inserts as a comment, reveals sentences and source tokens in the document, and serves cross-attention.
 */
export class SummaryController implements vscode.Disposable {
  private running: { readonly id: number; readonly cts: vscode.CancellationTokenSource } | undefined;
  /** Ids are unique across sessions, so a revived panel never mistakes an old summary for a new one. */
  private nextId = Date.now() % 1e9;
  private readonly contexts = new Map<number, AbstractiveContext>();
  private readonly subscription: vscode.Disposable;
  /** The document range most recently revealed from the panel (read by tests). */
  lastRevealed: { readonly uri: string; readonly range: vscode.Range } | undefined;
  /** The most recent summary run: its promise settles when it ends (read by tests). */
  lastRun: Promise<void> | undefined;

  constructor(
    private readonly config: Config,
    private readonly worker: ModelWorkerClient,
    private readonly models: ModelService,
    private readonly seq2seq: Seq2SeqModels,
    private readonly scheduler: SummaryScheduler,
    private readonly targets: SummaryTargets,
    private readonly panel: SummaryPanel,
    private readonly logger: Logger,
  ) {
    this.subscription = panel.onDidRequest((r) => void this.handle(r));
  }

  dispose(): void {
    this.running?.cts.cancel();
    this.subscription.dispose();
  }

  /** Summarises the whole active document. */
  summarizeDocument(editor = vscode.window.activeTextEditor): Promise<void> {
    if (!editor) return this.tell('open a document to summarise it.');
    const { document } = editor;
    return this.start(document, new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)), 'document', path.basename(document.uri.path));
  }

  /** Summarises the selection; with nothing selected, the function or class (or paragraph) around the cursor. */
  summarizeSelection(editor = vscode.window.activeTextEditor): Promise<void> {
    if (!editor) return this.tell('select some text to summarise it.');
    const { document, selection } = editor;
    if (selection.isEmpty) return this.summarizeSymbol(editor);
    const lines = `${selection.start.line + 1}${selection.end.line > selection.start.line ? `-${selection.end.line + 1}` : ''}`;
    return this.start(document, selection, 'selection', `${path.basename(document.uri.path)}:${lines}`);
  }

  /** Summarises the function, method or class around the cursor (Markdown and plain text: its paragraph or section). */
  async summarizeSymbol(editor = vscode.window.activeTextEditor): Promise<void> {
    if (!editor) return this.tell('put the cursor in a function or class to summarise it.');
    const target = await this.targets.enclosing(editor.document, editor.selection.active);
    if (!target) return this.tell('there is no function, class or method at the cursor. Select text, or use "Summarize Document".');
    return this.start(editor.document, target.range, 'symbol', target.label);
  }

  private tell(what: string): Promise<void> {
    void vscode.window.showInformationMessage(`BERT Lens: ${what}`);
    return Promise.resolve();
  }

  private start(document: vscode.TextDocument, range: vscode.Range, kind: SummarySource['kind'], label: string, mode?: SummaryMode): Promise<void> {
    const run = this.run(document, range, kind, label, mode);
    this.lastRun = run;
    return run;
  }

  private async run(document: vscode.TextDocument, range: vscode.Range, kind: SummarySource['kind'], label: string, forced?: SummaryMode): Promise<void> {
    const whole = document.getText(range);
    const lead = whole.length - whole.trimStart().length;
    const text = whole.trim();
    if (text === '') return this.tell(`there is nothing to summarise in ${label}.`);
    const offset = document.offsetAt(range.start) + lead;
    const source: SummarySource = { label, uri: document.uri.toString(), offset, length: text.length, languageId: document.languageId, line: document.positionAt(offset).line, kind };

    this.running?.cts.cancel();
    const cts = new vscode.CancellationTokenSource();
    const id = ++this.nextId;
    this.running = { id, cts };
    this.panel.show();
    this.panel.post({ type: 'start', id, source });
    const started = performance.now();
    try {
      await this.scheduler.user(async () => {
        const mode = forced ?? this.config.settings.summary.mode;
        const chosen = mode === 'extractive' ? { notice: undefined } : await this.abstractiveModel(mode, cts.token);
        if (chosen.model) await this.abstractive(id, chosen.model, text, started, cts.token);
        else await this.extractive(id, text, document.languageId, started, cts.token, chosen.notice);
      });
    } catch (e) {
      if (cts.token.isCancellationRequested || isCancellation(e)) {
        this.panel.post({ type: 'cancelled', id });
        return;
      }
      this.panel.post({ type: 'error', id, message: errorMessage(e) });
      void reportError(this.logger, `Could not summarise ${label}`, e, () => this.start(document, range, kind, label, forced));
    } finally {
      if (this.running?.id === id) this.running = undefined;
      cts.dispose();
    }
  }

  /**
   * The seq2seq model to use, or (mode `auto` only) why there is none. `abstractive` mode throws instead of
   * falling back.
   */
  private async abstractiveModel(mode: 'auto' | 'abstractive', token: vscode.CancellationToken): Promise<{ model?: LocalModel; notice?: string }> {
    const ref = this.seq2seq.ref('summary');
    const known = this.seq2seq.unavailableReason('summary');
    if (known && mode === 'auto') return { notice: fallbackNotice(ref, known) };
    try {
      const model = await this.seq2seq.resolve('summary', token);
      await this.seq2seq.info(model, signalOf(token));
      return { model };
    } catch (e) {
      if (mode === 'abstractive' || isCancellation(e) || token.isCancellationRequested) throw e;
      this.seq2seq.markUnavailable('summary', errorMessage(e));
      return { notice: fallbackNotice(ref, errorMessage(e)) };
    }
  }

  private async abstractive(id: number, model: LocalModel, text: string, started: number, token: vscode.CancellationToken): Promise<void> {
    this.panel.post({ type: 'mode', id, mode: 'abstractive', model: model.ref, modelLabel: modelDisplayName(model.ref) });
    const { maxTokens } = this.config.settings.summary;
    const result = await abstractiveSummary(this.worker, model, text, {
      ...(maxTokens > 0 ? { options: { maxNewTokens: maxTokens } } : {}),
      signal: signalOf(token),
      onStream: (u) => this.panel.post({ type: 'stream', id, text: u.text, step: u.step }),
      onProgress: (p) => this.panel.post({ type: 'progress', id, message: p.message, ...(p.done !== undefined ? { done: p.done } : {}), ...(p.total !== undefined ? { total: p.total } : {}) }),
    });
    if (token.isCancellationRequested) throw new vscode.CancellationError();
    const input = finalInput(text, result);
    this.contexts.set(id, { model, sourceText: input.text, linked: input.linked, ids: result.final.ids });
    for (const old of this.contexts.keys()) if (this.contexts.size > KEPT_CONTEXTS) this.contexts.delete(old);
    this.panel.post({
      type: 'done',
      id,
      summary: {
        mode: 'abstractive',
        text: result.text,
        model: model.ref,
        modelLabel: modelDisplayName(model.ref),
        elapsedMs: performance.now() - started,
        truncated: result.truncated,
        ids: result.final.ids,
        parts: result.rounds[0]?.parts.length ?? 1,
        crossAttention: result.final.ids.length > 1 ? this.seq2seq.crossAttentionState(model, 'summary') : 'unavailable',
      },
    });
    this.logger.info(`abstractive summary with ${model.ref}: ${result.final.ids.length - 1} tokens, ${result.rounds.length} part rounds, ${result.elapsedMs.toFixed(0)} ms`);
  }

  private async extractive(id: number, text: string, languageId: string, started: number, token: vscode.CancellationToken, notice: string | undefined): Promise<void> {
    const info = await this.models.modelInfo(token);
    const modelLabel = info.displayName ?? info.ref;
    this.panel.post({ type: 'mode', id, mode: 'extractive', model: info.ref, modelLabel, ...(notice ? { notice } : {}) });
    this.panel.post({ type: 'progress', id, message: 'Embedding the sentences' });
    const { sentences: count } = this.config.settings.summary;
    const result = await extractiveSummary(text, languageId, async (texts, signal) => (await this.models.embed(texts, signal ? tokenOf(signal) : token)).vectors, {
      ...(count > 0 ? { count } : {}),
      signal: signalOf(token),
    });
    if (token.isCancellationRequested) throw new vscode.CancellationError();
    this.panel.post({
      type: 'done',
      id,
      summary: {
        mode: 'extractive',
        text: result.text,
        model: info.ref,
        modelLabel,
        elapsedMs: performance.now() - started,
        truncated: false,
        sentences: result.sentences,
        totalSentences: result.totalSentences,
      },
    });
  }

  /** Acts on a request from the Summary panel (public for tests, which drive the host side without a page). */
  async handle(request: SummaryPanelRequest): Promise<void> {
    try {
      switch (request.type) {
        case 'cancel':
          if (this.running?.id === request.id) this.running.cts.cancel();
          return;
        case 'copy':
          await vscode.env.clipboard.writeText(request.text);
          vscode.window.setStatusBarMessage('BERT Lens: summary copied', 3000);
          return;
        case 'insertComment':
          return await this.insertComment(vscode.Uri.parse(request.uri, true), request.line, request.languageId, request.text);
        case 'reveal':
          return await this.reveal(vscode.Uri.parse(request.uri, true), request.start, request.end);
        case 'rerun': {
          const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(request.source.uri, true));
          const end = Math.min(document.getText().length, request.source.offset + request.source.length);
          const range = new vscode.Range(document.positionAt(Math.min(request.source.offset, end)), document.positionAt(end));
          return await this.start(document, range, request.source.kind, request.source.label, request.mode);
        }
        case 'requestCrossAttention':
          return await this.crossAttention(request.id);
      }
    } catch (e) {
      await reportError(this.logger, 'The Summary panel request failed', e);
    }
  }

  private async crossAttention(id: number): Promise<void> {
    const context = this.contexts.get(id);
    if (!context) {
      this.panel.post({ type: 'crossAttentionError', id, message: 'This summary is from an earlier session; summarise again to see where its words came from.' });
      return;
    }
    const cts = new vscode.CancellationTokenSource();
    try {
      await this.seq2seq.ensureCrossAttention(context.model, 'summary', cts.token);
      const data = await this.scheduler.user(() => crossAttentionMeans(this.worker, context.model, context.sourceText, context.ids, { linked: context.linked }));
      this.panel.post({ type: 'crossAttention', id, data });
    } catch (e) {
      this.panel.post({ type: 'crossAttentionError', id, message: errorMessage(e) });
      if (!isCancellation(e)) this.logger.error('cross-attention failed', e);
    } finally {
      cts.dispose();
    }
  }

  private async reveal(uri: vscode.Uri, start: number, end: number): Promise<void> {
    const document = await vscode.workspace.openTextDocument(uri);
    const length = document.getText().length;
    const range = new vscode.Range(document.positionAt(Math.min(start, length)), document.positionAt(Math.min(end, length)));
    const visible = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, selection: range, preserveFocus: false });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    this.lastRevealed = { uri: uri.toString(), range };
  }

  private async insertComment(uri: vscode.Uri, line: number, languageId: string, text: string): Promise<void> {
    const document = await vscode.workspace.openTextDocument(uri);
    let at = Math.min(line, Math.max(0, document.lineCount - 1));
    if (at === 0 && document.lineAt(0).text.startsWith('#!')) at = 1;
    const target = at < document.lineCount ? document.lineAt(at).text : '';
    const indent = /^\s*/.exec(target)![0];
    const comment = formatAsComment(text, languageId, indent);
    const visible = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false });
    const position = at < document.lineCount ? new vscode.Position(at, 0) : document.lineAt(document.lineCount - 1).range.end;
    const ok = await editor.edit((b) => b.insert(position, at < document.lineCount ? comment : `\n${comment}`));
    if (!ok) throw new Error(`could not edit ${path.basename(uri.path)}`);
  }
}

function fallbackNotice(ref: string, reason: string): string {
  return `Extractive summary: the abstractive model ${ref} is not available (${reason.replace(/\.$/, '')}). Set ${SETTING.summary} to a seq2seq model you have, or allow downloads.`;
}
