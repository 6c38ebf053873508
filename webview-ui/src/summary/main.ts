import type { HostToSummaryView, SummaryMode, SummarySource, SummaryView, SummaryViewToHost } from '../../../src/protocol/summaryView';
import { isHostToSummaryView } from '../../../src/protocol/summaryView';
import { connectToHost, h } from '../shared/host';
import { WhereFrom, type LayerChoice } from './whereFrom';

type Phase = 'empty' | 'running' | 'done' | 'error' | 'cancelled';

/** What the panel restores after being hidden or after a reload (cross-attention data is asked for again). */
interface PanelState {
  readonly id: number | null;
  readonly phase: Phase;
  readonly source: SummarySource | null;
  readonly mode: SummaryMode | null;
  readonly modelLabel: string;
  readonly notice: string;
  /** Streamed text while running; the final text once done. */
  readonly text: string;
  readonly message: string;
  readonly summary: SummaryView | null;
  readonly layer: LayerChoice;
  readonly selected: number | null;
  /** Stream updates received for this summary (read by tests). */
  readonly updates: number;
  /** Summaries started in this panel, re-runs included (read by tests: a re-run that never starts shows here). */
  readonly runs: number;
  /** The last finished summary, kept while a re-run of the same text runs, and shown again when the re-run fails. */
  readonly kept: KeptSummary | null;
  /** Why the last run failed, shown beside the kept summary with the next steps; '' when it did not. */
  readonly failure: string;
}

type KeptSummary = Pick<PanelState, 'id' | 'source' | 'summary' | 'text' | 'mode' | 'modelLabel' | 'notice'>;

const EMPTY: PanelState = { id: null, phase: 'empty', source: null, mode: null, modelLabel: '', notice: '', text: '', message: '', summary: null, layer: 'mean', selected: null, updates: 0, runs: 0, kept: null, failure: '' };

const host = connectToHost<SummaryViewToHost, PanelState>();
let state: PanelState = { ...EMPTY, ...host.state };

const app = document.getElementById('app')!;
const sourceLink = h('a', { href: '#', class: 'source', id: 'source', title: 'Show the summarised text in the editor' });
const modeBadge = h('span', { class: 'badge', id: 'mode' });
const modelName = h('span', { class: 'model', id: 'model' });
const facts = h('span', { class: 'facts', id: 'facts' });
const header = h('div', { class: 'header' }, sourceLink, h('div', { class: 'meta' }, modeBadge, modelName, facts));
const notice = h('div', { class: 'notice', id: 'notice', role: 'note' });
const progressText = h('span', { class: 'progress-text' });
const progressBar = h('progress', { max: '1' });
const cancelButton = h('button', { type: 'button', id: 'cancel', class: 'secondary' }, 'Cancel');
const status = h('div', { class: 'status', id: 'status', role: 'status', 'aria-live': 'polite' }, progressText, progressBar, cancelButton);
const summaryText = h('p', { class: 'summary-text', id: 'summary-text' });
const sentences = h('ol', { class: 'sentences', id: 'sentences' });
const summary = h('section', { class: 'summary', id: 'summary', 'aria-label': 'Summary' }, summaryText, sentences);
const copyButton = h('button', { type: 'button', id: 'copy' }, 'Copy');
const commentButton = h('button', { type: 'button', id: 'insert-comment', 'aria-describedby': 'comment-note' }, 'Insert as Comment');
const commentNote = h('span', { class: 'comment-note', id: 'comment-note' });
const abstractiveButton = h('button', { type: 'button', id: 'rerun-abstractive' }, 'Abstractive');
const extractiveButton = h('button', { type: 'button', id: 'rerun-extractive' }, 'Extractive');
const actions = h('div', { class: 'actions' }, copyButton, commentButton, commentNote, h('span', { class: 'again' }, 'Summarize again:', abstractiveButton, extractiveButton));
const whereFromButton = h('button', { type: 'button', id: 'where-from', class: 'secondary' }, 'Where did this come from?');
const whereFromNote = h('div', { class: 'where-note', id: 'where-note' });
const whereFrom = new WhereFrom({
  onSourceClick: (start, end) => reveal(start, end),
  onChange: (layer, selected) => save({ layer, selected }),
});
const empty = h('p', { class: 'empty' }, 'Run “BERT Lens: Summarize Document”, “Summarize Selection” or “Summarize Function or Class at Cursor”.');
const failureText = h('p', { class: 'failure-text', id: 'failure-text' });
const retryButton = h('button', { type: 'button', id: 'retry-abstractive' }, 'Try Abstractive Again');
const chooseModelButton = h('button', { type: 'button', id: 'choose-model', class: 'secondary' }, 'Choose a Summary Model…');
const stayButton = h('button', { type: 'button', id: 'stay-extractive', class: 'secondary' }, 'Keep the Extractive Summary');
const failure = h('div', { class: 'failure', id: 'failure', role: 'alert' }, failureText, h('div', { class: 'failure-actions' }, retryButton, chooseModelButton, stayButton));
app.append(empty, header, notice, failure, status, summary, actions, whereFromButton, whereFromNote, whereFrom.element);

sourceLink.addEventListener('click', (e) => {
  e.preventDefault();
  if (state.source) reveal(0, state.source.length);
});
cancelButton.addEventListener('click', () => state.id !== null && host.post({ type: 'cancel', id: state.id }));
copyButton.addEventListener('click', () => host.post({ type: 'copy', text: state.text }));
commentButton.addEventListener('click', () => state.id !== null && !state.source?.noComment && host.post({ type: 'insertComment', id: state.id }));
abstractiveButton.addEventListener('click', () => rerun('abstractive'));
extractiveButton.addEventListener('click', () => rerun('extractive'));
whereFromButton.addEventListener('click', () => requestCrossAttention());
retryButton.addEventListener('click', () => rerun('abstractive'));
chooseModelButton.addEventListener('click', () => host.post({ type: 'chooseSummaryModel' }));
stayButton.addEventListener('click', () => save({ failure: '' }));

host.onMessage(isHostToSummaryView, (m) => receive(m));
render();
// A restored abstractive summary asks for its cross-attention again (the data is not kept in the state).
if (state.phase === 'done' && state.summary?.crossAttention === 'ready') requestCrossAttention();
host.post({ type: 'ready' });

function receive(m: HostToSummaryView): void {
  if (m.type === 'start') {
    whereFrom.clear();
    // The last summary is kept while a new run of the same text is under way: a failed re-run shows it again.
    const sameText = state.kept !== null && state.kept.source?.label === m.source.label && state.kept.source.length === m.source.length;
    save({ ...EMPTY, id: m.id, phase: 'running', source: m.source, message: 'Choosing the model…', layer: state.layer, runs: (state.runs ?? 0) + 1, kept: sameText ? state.kept : null });
    return;
  }
  if (m.id !== state.id) return;
  switch (m.type) {
    case 'mode':
      save({ mode: m.mode, modelLabel: m.modelLabel, notice: m.notice ?? '', message: m.mode === 'abstractive' ? 'Generating…' : 'Picking sentences…' });
      break;
    case 'progress':
      save({ message: m.message });
      if (m.total !== undefined && m.total > 1) progressBar.value = (m.done ?? 0) / m.total;
      else progressBar.removeAttribute('value');
      break;
    case 'stream':
      save({ text: m.text, updates: state.updates + 1, message: `Generating… ${m.step} tokens` });
      break;
    case 'done': {
      const done = { phase: 'done', summary: m.summary, text: m.summary.text, mode: m.summary.mode, modelLabel: m.summary.modelLabel, message: '', failure: '' } as const;
      save({ ...done, kept: { id: state.id, source: state.source, summary: done.summary, text: done.text, mode: done.mode, modelLabel: done.modelLabel, notice: state.notice } });
      if (m.summary.crossAttention === 'ready') requestCrossAttention();
      break;
    }
    case 'error':
      // Never a dead end: the last good summary of this text comes back with its actions, the error beside it.
      if (state.kept) save({ ...state.kept, phase: 'done', message: '', failure: m.message });
      else save({ phase: 'error', message: m.message, failure: m.message });
      break;
    case 'cancelled':
      save({ phase: 'cancelled', message: 'Cancelled.' });
      break;
    case 'crossAttention':
      whereFromNote.textContent = '';
      whereFrom.show(m.data, state.layer, state.selected);
      render();
      break;
    case 'crossAttentionError':
      whereFromNote.textContent = m.message;
      whereFromButton.disabled = false;
      break;
  }
}

function requestCrossAttention(): void {
  if (state.id === null) return;
  whereFromButton.disabled = true;
  whereFromNote.textContent = 'Reading the cross-attention…';
  host.post({ type: 'requestCrossAttention', id: state.id });
}

// Requests name the summary; the host knows which document and range it came from.
function rerun(mode: SummaryMode): void {
  if (state.id !== null) host.post({ type: 'rerun', id: state.id, mode });
}

/** Reveals `[start, end)` of the summarised text. */
function reveal(start: number, end: number): void {
  if (state.id !== null && state.source && end <= state.source.length) host.post({ type: 'reveal', id: state.id, start, end });
}

function save(change: Partial<PanelState>): void {
  state = { ...state, ...change };
  host.saveState(state);
  render();
}

function render(): void {
  const { phase, source, summary: done } = state;
  empty.hidden = phase !== 'empty';
  header.hidden = phase === 'empty';
  sourceLink.textContent = source?.label ?? '';
  modeBadge.textContent = state.mode ?? '';
  modeBadge.hidden = state.mode === null;
  modelName.textContent = state.modelLabel;
  facts.textContent = done ? summaryFacts(done) : '';
  notice.textContent = [state.notice, done?.truncated ? 'The input was longer than the model reads: its end was not read.' : ''].filter(Boolean).join(' ');
  notice.hidden = notice.textContent === '';

  failure.hidden = state.failure === '';
  failureText.textContent = state.failure;
  stayButton.hidden = state.summary?.mode !== 'extractive' || phase !== 'done';
  const running = phase === 'running';
  status.hidden = phase === 'done' || phase === 'empty' || (phase === 'error' && state.failure !== '');
  status.className = `status ${phase === 'error' ? 'error' : 'busy'}`;
  progressText.textContent = state.message;
  progressBar.hidden = !running;
  cancelButton.hidden = !running;

  summary.hidden = phase === 'empty';
  summary.dataset.state = phase;
  summary.dataset.mode = state.mode ?? '';
  summary.dataset.updates = String(state.updates);
  summary.dataset.runs = String(state.runs ?? 0);
  if (done?.ids) summary.dataset.ids = JSON.stringify(done.ids);
  else delete summary.dataset.ids;

  const extractive = phase === 'done' && done?.mode === 'extractive';
  sentences.hidden = !extractive;
  summaryText.hidden = extractive || whereFrom.hasData;
  summaryText.textContent = state.text;
  if (extractive && done?.sentences) {
    sentences.replaceChildren(
      ...done.sentences.map((s) => {
        const link = h('a', { href: '#', class: 'sentence', 'data-start': String(s.start), 'data-end': String(s.end), 'data-rank': String(s.rank), title: `Show in the document (pick ${s.rank})` }, s.text);
        link.addEventListener('click', (e) => {
          e.preventDefault();
          reveal(s.start, s.end);
        });
        return h('li', {}, link);
      }),
    );
    if (done.totalSentences !== undefined) sentences.dataset.total = String(done.totalSentences);
  }
  if (whereFrom.hasData && phase === 'done') {
    if (whereFrom.summary.parentElement !== summary) summary.prepend(whereFrom.summary);
  } else whereFrom.summary.remove();

  // After a failure with no summary to keep, the re-run buttons stay (copy and insert need a summary).
  actions.hidden = phase !== 'done' && phase !== 'error';
  copyButton.disabled = phase !== 'done';
  const noComment = source?.noComment;
  commentButton.disabled = noComment !== undefined || phase !== 'done';
  commentButton.title = noComment ?? 'Insert the summary as a comment above the summarised text';
  commentNote.textContent = noComment ?? '';
  commentNote.hidden = noComment === undefined;
  const abstractiveDone = phase === 'done' && done?.mode === 'abstractive';
  whereFromButton.hidden = !abstractiveDone || whereFrom.hasData || done?.crossAttention === 'unavailable';
  whereFromNote.hidden = !abstractiveDone;
  whereFrom.element.hidden = !abstractiveDone || !whereFrom.hasData;
  abstractiveButton.setAttribute('aria-pressed', String(state.mode === 'abstractive'));
  extractiveButton.setAttribute('aria-pressed', String(state.mode === 'extractive'));
}

/** `12 tokens · 3 parts · 0.4 s` or `3 of 12 sentences · 0.2 s`. */
function summaryFacts(s: SummaryView): string {
  const seconds = `${(s.elapsedMs / 1000).toFixed(1)} s`;
  if (s.mode === 'extractive') return `${s.sentences?.length ?? 0} of ${s.totalSentences ?? 0} sentences · ${seconds}`;
  const tokens = Math.max(0, (s.ids?.length ?? 1) - 1);
  return [`${tokens} tokens`, s.parts && s.parts > 1 ? `${s.parts} parts` : '', seconds].filter(Boolean).join(' · ');
}
