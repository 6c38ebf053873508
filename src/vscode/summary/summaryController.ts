import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LocalModel } from '../../protocol/worker';
import type { SummaryMode, SummarySource } from '../../protocol/summaryView';
import { modelDisplayName } from '../../core/models/modelRef';
import type { ModelWorkerClient } from '../../core/worker/modelWorkerClient';
import type { Config } from '../config';
import { abortSignalFor, errorMessage, isCancellation, reportError, reportViewRequestError } from '../errors';
import type { Logger } from '../logger';
import type { ModelService } from '../modelService';
import { formatAsComment, insertCommentProblem } from '../../core/summarize/comments';
import type { SummaryScheduler } from './scheduler';
import { SETTING, type Seq2SeqModels } from './seq2seqModels';
import { abstractiveSummary, crossAttentionMeans, extractiveSummary, finalInput } from '../../core/summarize/summarizer';
import type { SummaryPanel, SummaryPanelRequest } from './summaryPanel';
import type { SummaryTargets } from './summaryTargets';

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
 * Where a summary's text came from, kept by the host for the panel's requests (which name only the summary id).
 * The offsets are re-anchored when the document changed, by finding the same text again.
 */
export interface SummaryRun {
  readonly uri: vscode.Uri;
  readonly label: string;
  readonly kind: SummarySource['kind'];
  /** The summarised text's offsets in the document at `version` (UTF-16; the text is trimmed). */
  start: number;
  end: number;
  version: number;
  /** SHA-256 of the summarised text. */
  readonly hash: string;
  /** The summarised text itself, when short enough to look for again after edits moved it. */
  readonly text: string | undefined;
  /** The finished summary's text. */
  summary?: string;
}

/** Runs kept for the panel's requests (the newest summaries). */
const KEPT_RUNS = 32;
/** Longest summarised text kept to re-anchor it after edits (characters); longer ones must stay where they were. */
const REANCHOR_CHARS = 200_000;

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
  private readonly runs = new Map<number, SummaryRun>();
  private readonly subscription: vscode.Disposable;
  /** The document range most recently revealed from the panel (read by tests). */
  lastRevealed: { readonly uri: string; readonly range: vscode.Range } | undefined;
  /** Why the panel's most recent request was refused, if it was (read by tests). */
  lastRefusal: string | undefined;
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

  /** Where summary `id` came from, if it was made this session and is among the newest (read by tests). */
  runOf(id: number): Readonly<SummaryRun> | undefined {
    return this.runs.get(id);
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
    const noComment = insertCommentProblem(document.languageId);
    const source: SummarySource = { label, length: text.length, languageId: document.languageId, kind, ...(noComment ? { noComment } : {}) };

    this.running?.cts.cancel();
    const cts = new vscode.CancellationTokenSource();
    const abort = abortSignalFor(cts.token);
    const id = ++this.nextId;
    this.running = { id, cts };
    this.remember(id, {
      uri: document.uri,
      label,
      kind,
      start: offset,
      end: offset + text.length,
      version: document.version,
      hash: hashOf(text),
      text: text.length <= REANCHOR_CHARS ? text : undefined,
    });
    this.panel.show();
    this.panel.post({ type: 'start', id, source });
    this.logger.debug(`summary ${id} of ${kind} ${label} (${text.length} characters) started`);
    const started = performance.now();
    try {
      await this.scheduler.user(async () => {
        const mode = forced ?? this.config.settings.summary.mode;
        // A rerun the user asked for from the panel tries a failed download again; a plain Summarize does not.
        const chosen = mode === 'extractive' ? { notice: undefined } : await this.abstractiveModel(mode, abort.signal, forced === 'abstractive');
        if (chosen.model) await this.abstractive(id, chosen.model, text, started, cts.token, abort.signal);
        else await this.extractive(id, text, document.languageId, started, cts.token, abort.signal, chosen.notice);
      });
    } catch (e) {
      if (cts.token.isCancellationRequested || isCancellation(e)) {
        this.panel.post({ type: 'cancelled', id });
        return;
      }
      this.panel.post({ type: 'error', id, message: errorMessage(e) });
      // A mode is forced only by the panel's rerun: the panel shows the error, and a page raises no notification.
      // A failure already reported this session is said in the panel only (no notification on every Summarize).
      if (e instanceof RememberedUnavailable) this.logger.debug(`summary of ${label}: ${e.message}`);
      else if (forced !== undefined) reportViewRequestError(this.logger, `Could not summarise ${label}`, e);
      else void reportError(this.logger, `Could not summarise ${label}`, e, () => this.start(document, range, kind, label, forced));
    } finally {
      if (this.running?.id === id) this.running = undefined;
      abort.dispose();
      cts.dispose();
    }
  }

  private remember(id: number, run: SummaryRun): void {
    this.runs.set(id, run);
    for (const old of this.runs.keys()) if (this.runs.size > KEPT_RUNS) this.runs.delete(old);
  }

  /**
   * The seq2seq model to use, or (mode `auto` only) why there is none. `abstractive` mode throws instead of
   * falling back. A model that could not be had is remembered for the session: later summaries do not try the
   * download again (no "downloading…" flash on every Summarize) until the user asks from the panel (`retry`).
   */
  private async abstractiveModel(mode: 'auto' | 'abstractive', signal: AbortSignal, retry: boolean): Promise<{ model?: LocalModel; notice?: string }> {
    const ref = this.seq2seq.ref('summary');
    const known = retry ? undefined : this.seq2seq.unavailableReason('summary');
    if (known && mode === 'auto') return { notice: fallbackNotice(ref, known) };
    if (known) throw new RememberedUnavailable(`${ref} could not be had earlier this session (${known.replace(/\.$/, '')}). Choose Abstractive in the Summary panel to try again.`);
    try {
      const model = await this.seq2seq.resolve('summary', signal);
      await this.seq2seq.info(model, signal);
      return { model };
    } catch (e) {
      if (isCancellation(e) || signal.aborted) throw e;
      this.seq2seq.markUnavailable('summary', errorMessage(e));
      if (mode === 'abstractive') throw e;
      return { notice: fallbackNotice(ref, errorMessage(e)) };
    }
  }

  private async abstractive(id: number, model: LocalModel, text: string, started: number, token: vscode.CancellationToken, signal: AbortSignal): Promise<void> {
    this.panel.post({ type: 'mode', id, mode: 'abstractive', model: model.ref, modelLabel: modelDisplayName(model.ref) });
    const { maxTokens } = this.config.settings.summary;
    const result = await abstractiveSummary(this.worker, model, text, {
      ...(maxTokens > 0 ? { options: { maxNewTokens: maxTokens } } : {}),
      signal,
      onStream: (u) => this.panel.post({ type: 'stream', id, text: u.text, step: u.step }),
      onProgress: (p) => this.panel.post({ type: 'progress', id, message: p.message, ...(p.done !== undefined ? { done: p.done } : {}), ...(p.total !== undefined ? { total: p.total } : {}) }),
    });
    if (token.isCancellationRequested) throw new vscode.CancellationError();
    const input = finalInput(text, result);
    this.contexts.set(id, { model, sourceText: input.text, linked: input.linked, ids: result.final.ids });
    for (const old of this.contexts.keys()) if (this.contexts.size > KEPT_CONTEXTS) this.contexts.delete(old);
    this.finished(id, result.text);
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

  private async extractive(id: number, text: string, languageId: string, started: number, token: vscode.CancellationToken, signal: AbortSignal, notice: string | undefined): Promise<void> {
    const info = await this.models.modelInfo(token);
    const modelLabel = info.displayName ?? info.ref;
    this.panel.post({ type: 'mode', id, mode: 'extractive', model: info.ref, modelLabel, ...(notice ? { notice } : {}) });
    this.panel.post({ type: 'progress', id, message: 'Embedding the sentences' });
    const { sentences: count } = this.config.settings.summary;
    // The embedder is called with `signal`, which aborts with `token`.
    const result = await extractiveSummary(text, languageId, async (texts) => (await this.models.embed(texts, token)).vectors, {
      ...(count > 0 ? { count } : {}),
      signal,
    });
    if (token.isCancellationRequested) throw new vscode.CancellationError();
    this.finished(id, result.text);
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

  private finished(id: number, summary: string): void {
    const run = this.runs.get(id);
    if (run) run.summary = summary;
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
          return await this.insertComment(request.id);
        case 'reveal':
          return await this.reveal(request.id, request.start, request.end);
        case 'rerun': {
          const found = await this.sourceOf(request.id, 'summarise it again');
          if (!found) return;
          const { run, document, range } = found;
          return await this.start(document, range, run.kind, run.label, request.mode);
        }
        case 'requestCrossAttention':
          return await this.crossAttention(request.id);
        case 'chooseSummaryModel':
          await vscode.commands.executeCommand('bertLens.selectModel', 'summaries');
          return;
      }
    } catch (e) {
      reportViewRequestError(this.logger, `The Summary panel's ${request.type} request failed`, e);
    }
  }

  /**
   * The document and current range of summary `id`'s source, re-anchored when the document changed since; or
   * undefined, after saying why, when the summary is not this session's or its text is no longer there.
   */
  private async sourceOf(id: number, action: string): Promise<{ run: SummaryRun; document: vscode.TextDocument; range: vscode.Range } | undefined> {
    const run = this.runs.get(id);
    if (!run) return this.refuse(`This summary is from an earlier session or is no longer kept, so BERT Lens cannot ${action}. Summarise the text again.`);
    const document = await vscode.workspace.openTextDocument(run.uri);
    if (document.version !== run.version && !reanchor(run, document)) {
      return this.refuse(`The text summarised from ${run.label} has changed since, so BERT Lens cannot ${action}. Select it and summarise it again.`);
    }
    return { run, document, range: new vscode.Range(document.positionAt(run.start), document.positionAt(run.end)) };
  }

  /** Says why a panel request was refused: in the status bar and the debug log, never as a notification. */
  private refuse(why: string): undefined {
    this.lastRefusal = why;
    this.logger.debug(`Summary panel request refused: ${why}`);
    vscode.window.setStatusBarMessage(`$(info) BERT Lens: ${why}`, 10_000);
    return undefined;
  }

  private async crossAttention(id: number): Promise<void> {
    const context = this.contexts.get(id);
    if (!context) {
      this.panel.post({ type: 'crossAttentionError', id, message: 'This summary is from an earlier session; summarise again to see where its words came from.' });
      return;
    }
    try {
      // Not cancelled by the panel: a download it needs can be cancelled from its notification.
      await this.seq2seq.ensureCrossAttention(context.model, 'summary');
      const data = await this.scheduler.user(() => crossAttentionMeans(this.worker, context.model, context.sourceText, context.ids, { linked: context.linked }));
      this.panel.post({ type: 'crossAttention', id, data });
    } catch (e) {
      this.panel.post({ type: 'crossAttentionError', id, message: errorMessage(e) });
      if (!isCancellation(e)) this.logger.error('cross-attention failed', e);
    }
  }

  /** Shows and selects `[start, end)` of summary `id`'s source text (offsets relative to it). */
  private async reveal(id: number, start: number, end: number): Promise<void> {
    const run = this.runs.get(id);
    if (run && end > run.end - run.start) {
      this.logger.warn(`ignored a reveal of [${start}, ${end}) beyond the ${run.end - run.start} characters of summary ${id}`);
      return;
    }
    const found = await this.sourceOf(id, 'show it in the document');
    if (!found) return;
    const { document, run: current } = found;
    const range = new vscode.Range(document.positionAt(current.start + start), document.positionAt(current.start + end));
    const visible = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, selection: range, preserveFocus: false });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    this.lastRevealed = { uri: document.uri.toString(), range };
  }

  /** Inserts summary `id` as a comment above the text it summarises, in the document's comment syntax. */
  private async insertComment(id: number): Promise<void> {
    const found = await this.sourceOf(id, 'insert it as a comment');
    if (!found) return;
    const { run, document, range } = found;
    const problem = insertCommentProblem(document.languageId);
    if (problem) return void this.refuse(problem);
    if (run.summary === undefined) return void this.refuse('The summary is not finished, so there is nothing to insert yet.');
    let at = range.start.line;
    if (at === 0 && document.lineAt(0).text.startsWith('#!')) at = 1;
    const target = at < document.lineCount ? document.lineAt(at).text : '';
    const indent = /^\s*/.exec(target)![0];
    const comment = formatAsComment(run.summary, document.languageId, indent);
    const visible = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false });
    const position = at < document.lineCount ? new vscode.Position(at, 0) : document.lineAt(document.lineCount - 1).range.end;
    const before = document.version;
    const ok = await editor.edit((b) => b.insert(position, at < document.lineCount ? comment : `\n${comment}`));
    if (!ok) throw new Error(`could not edit ${path.basename(run.uri.path)}`);
    // The comment went in above the source: it moved down by the comment's length.
    if (document.version === before + 1 && document.offsetAt(position) <= run.start) {
      const inserted = at < document.lineCount ? comment.length : comment.length + 1;
      run.start += inserted;
      run.end += inserted;
      run.version = document.version;
    }
  }
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Points `run` at its text in `document` as it is now: where it was, else (when it is short enough to have been
 * kept) the nearest place it occurs. False when it is not there any more.
 */
function reanchor(run: SummaryRun, document: vscode.TextDocument): boolean {
  const length = run.end - run.start;
  const at = (start: number): string => document.getText(new vscode.Range(document.positionAt(start), document.positionAt(start + length)));
  let start: number | undefined;
  if (run.text !== undefined) {
    if (at(run.start) === run.text) start = run.start;
    else {
      const all = document.getText();
      const after = all.indexOf(run.text, run.start);
      const before = all.lastIndexOf(run.text, run.start);
      const candidates = [after, before].filter((i) => i >= 0);
      start = candidates.sort((a, b) => Math.abs(a - run.start) - Math.abs(b - run.start))[0];
    }
  } else if (hashOf(at(run.start)) === run.hash) start = run.start;
  if (start === undefined) return false;
  run.start = start;
  run.end = start + length;
  run.version = document.version;
  return true;
}

/** The summary model failed earlier this session and is not tried again until the user asks. */
class RememberedUnavailable extends Error {}

function fallbackNotice(ref: string, reason: string): string {
  return `Extractive summary: the abstractive model ${ref} is not available (${reason.replace(/\.$/, '')}). Set ${SETTING.summary} to a seq2seq model you have, or allow downloads.`;
}
