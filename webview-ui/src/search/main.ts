import type { IndexState, SearchHit, SearchMode, SearchViewToHost } from '../../../src/protocol/search';
import { isHostToSearchView, MAX_QUERY_CHARS } from '../../../src/protocol/search';
import { connectToHost, h } from '../shared/host';
import { groupByFile, lineRange, preview, scoreText, whyText } from './format';

interface ViewState {
  readonly query: string;
  readonly mode: SearchMode;
}

/** Quiet time after a keystroke before the query is sent. */
const TYPING_DELAY_MS = 200;
/** Results asked for. */
const K = 30;

const host = connectToHost<SearchViewToHost, ViewState>();
let state: ViewState = { query: '', mode: 'hybrid', ...host.state };
let nextRequestId = 1;
/** The newest request sent; answers to older ones are dropped. */
let latest = 0;
let typingTimer: ReturnType<typeof setTimeout> | undefined;
let answer: { requestId: number; query: string; mode: SearchMode; hits: readonly SearchHit[]; unsavedPending: number } | undefined;
let selected = -1;
let indexState: IndexState = { kind: 'notIndexed' };

const app = document.getElementById('app')!;
const query = h('input', {
  id: 'query',
  type: 'search',
  placeholder: 'Describe what you are looking for…',
  'aria-label': 'Search by meaning',
  autocomplete: 'off',
  spellcheck: 'false',
  maxlength: String(MAX_QUERY_CHARS),
});
const mode = h(
  'select',
  { id: 'mode', 'aria-label': 'Ranking', title: 'Hybrid: words and meaning fused · Vector: meaning only · Lexical: words only (BM25)' },
  h('option', { value: 'hybrid' }, 'Hybrid'),
  h('option', { value: 'vector' }, 'Meaning'),
  h('option', { value: 'lexical' }, 'Words'),
);
const indexText = h('span', { class: 'index-text' });
const indexProgress = h('progress', { id: 'index-progress', max: '100', 'aria-label': 'Indexing progress', hidden: '' });
const cancelIndexing = h('button', { type: 'button', id: 'cancel-indexing', class: 'link', hidden: '' }, 'Cancel');
const indexNow = h('button', { type: 'button', id: 'index-now', class: 'link', hidden: '' }, 'Index now');
const skippedButton = h('button', { type: 'button', id: 'skipped', class: 'link', hidden: '', title: 'List the skipped files in the BERT Lens log' }, '');
const indexBar = h('div', { id: 'index', class: 'index-bar', role: 'status', 'aria-live': 'polite' }, indexText, indexProgress, cancelIndexing, indexNow, skippedButton);
const status = h('div', { id: 'status', class: 'status', 'aria-live': 'polite' });
const results = h('div', { id: 'results', class: 'results', role: 'listbox', tabindex: '0', 'aria-label': 'Results' });
app.append(h('div', { class: 'search-bar' }, query, mode), indexBar, status, results);

query.value = state.query;
mode.value = state.mode;

query.addEventListener('input', () => {
  save({ query: query.value });
  clearTimeout(typingTimer);
  typingTimer = setTimeout(runSearch, TYPING_DELAY_MS);
});
query.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown' && answer && answer.hits.length > 0) {
    e.preventDefault();
    select(Math.max(0, selected));
    results.focus();
  } else if (e.key === 'Enter') {
    e.preventDefault();
    if (typingTimer !== undefined || !answer || answer.query !== query.value.trim() || answer.mode !== state.mode) runSearch();
    else if (answer.hits.length > 0) {
      select(Math.max(0, selected));
      results.focus();
    }
  }
});
mode.addEventListener('change', () => {
  save({ mode: mode.value as SearchMode });
  runSearch();
});
results.addEventListener('keydown', (e) => {
  const count = answer?.hits.length ?? 0;
  if (count === 0) return;
  const page = Math.max(1, Math.floor(results.clientHeight / 90));
  const moves: Record<string, number> = { ArrowDown: selected + 1, ArrowUp: selected - 1, Home: 0, End: count - 1, PageDown: selected + page, PageUp: selected - page };
  if (e.key in moves) {
    e.preventDefault();
    const to = moves[e.key]!;
    if (to < 0) {
      query.focus();
      return;
    }
    select(Math.min(count - 1, to));
  } else if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    // Enter moves to the editor; Space shows the passage and keeps the focus here.
    if (selected >= 0) open(selected, e.key === ' ');
  } else if (e.key === 'Escape') {
    e.preventDefault();
    query.focus();
  } else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
    // Typing while in the list goes to the query box.
    query.focus();
  }
});
results.addEventListener('focus', () => {
  if (selected < 0 && answer && answer.hits.length > 0) select(0);
});
results.addEventListener('click', (e) => {
  const hit = (e.target as HTMLElement).closest<HTMLElement>('.hit');
  if (!hit) return;
  const index = Number(hit.dataset.index);
  select(index);
  open(index, false);
});
cancelIndexing.addEventListener('click', () => host.post({ type: 'cancelIndexing' }));
indexNow.addEventListener('click', () => host.post({ type: 'indexWorkspace' }));
skippedButton.addEventListener('click', () => host.post({ type: 'showSkipped' }));

host.onMessage(isHostToSearchView, (m) => {
  switch (m.type) {
    case 'indexState': {
      const before = indexState;
      indexState = m.state;
      renderIndexState();
      // Better answers are possible once indexing finishes, once the new model's index is open, or once the unsaved
      // editors the last answer lacked are embedded (the host says "ready" again then).
      const finished = before.kind !== 'ready' && m.state.kind === 'ready';
      const reopened = m.state.kind === 'notIndexed' && m.state.reason !== undefined;
      const unsavedIn = m.state.kind === 'ready' && answer !== undefined && answer.unsavedPending > 0 && answer.requestId === latest;
      if ((finished || reopened || unsavedIn) && query.value.trim() !== '') runSearch();
      break;
    }
    case 'results':
      if (m.requestId !== latest) return;
      answer = { requestId: m.requestId, query: m.query, mode: m.mode, hits: m.hits, unsavedPending: m.unsavedPending ?? 0 };
      renderResults(Math.round(m.elapsedMs));
      break;
    case 'searchError':
      if (m.requestId !== latest) return;
      setStatus(m.message, 'error');
      app.dataset.busy = 'false';
      break;
    case 'setQuery':
      query.value = m.query;
      save({ query: m.query });
      query.focus();
      runSearch();
      break;
    case 'focusQuery':
      query.focus();
      query.select();
      break;
  }
});
host.post({ type: 'ready' });
query.focus();
renderIndexState();
if (state.query.trim() !== '') runSearch();
else renderEmpty();

function save(change: Partial<ViewState>): void {
  state = { ...state, ...change };
  host.saveState(state);
}

/** Sends the query now; a newer request makes the host cancel the older one (also in the model worker). */
function runSearch(): void {
  clearTimeout(typingTimer);
  typingTimer = undefined;
  const text = query.value.trim();
  const requestId = nextRequestId++;
  latest = requestId;
  if (text === '') {
    host.post({ type: 'cancelSearch', requestId });
    answer = undefined;
    renderEmpty();
    return;
  }
  app.dataset.busy = 'true';
  setStatus('Searching…', 'busy');
  host.post({ type: 'search', requestId, query: text, mode: state.mode, k: K });
}

function open(index: number, preserveFocus: boolean): void {
  if (answer) host.post({ type: 'open', requestId: answer.requestId, index, preserveFocus });
}

function select(index: number): void {
  const previous = results.querySelector<HTMLElement>('.hit[aria-selected="true"]');
  previous?.setAttribute('aria-selected', 'false');
  selected = index;
  const el = results.querySelector<HTMLElement>(`.hit[data-index="${index}"]`);
  if (!el) {
    results.removeAttribute('aria-activedescendant');
    return;
  }
  el.setAttribute('aria-selected', 'true');
  results.setAttribute('aria-activedescendant', el.id);
  el.scrollIntoView({ block: 'nearest' });
}

function setStatus(text: string, kind: '' | 'busy' | 'error'): void {
  status.textContent = text;
  status.className = `status ${kind}`;
}

function renderEmpty(): void {
  selected = -1;
  app.dataset.busy = 'false';
  results.replaceChildren(
    h(
      'div',
      { class: 'empty' },
      h('p', {}, 'Type what you mean — “where do we retry failed uploads”, “paragraph about the licence terms” — and get the passages that mean it, across the workspace and unsaved editors.'),
      h('p', {}, '↓ moves into the results · Enter opens one · Space previews it · Esc returns here.'),
    ),
  );
  results.removeAttribute('aria-activedescendant');
  setStatus('', '');
}

function renderResults(elapsedMs: number): void {
  const a = answer!;
  app.dataset.busy = 'false';
  selected = -1;
  results.removeAttribute('aria-activedescendant');
  const groups = groupByFile(a.hits);
  if (a.hits.length === 0) {
    results.replaceChildren(h('div', { class: 'empty' }, h('p', {}, indexState.kind === 'indexing' || indexState.kind === 'opening' ? 'Nothing yet: the index is still being built.' : 'No passages match.')));
  } else {
    results.replaceChildren(...groups.map((g) => renderGroup(g.relPath, g.hits, a.mode)));
  }
  const files = groups.length;
  const pending = a.unsavedPending > 0 ? ` · ${a.unsavedPending} unsaved ${a.unsavedPending === 1 ? 'editor' : 'editors'} not searchable yet` : '';
  setStatus(`${a.hits.length} ${a.hits.length === 1 ? 'passage' : 'passages'} in ${files} ${files === 1 ? 'file' : 'files'} · ${elapsedMs} ms${pending}`, '');
  results.dataset.requestId = String(a.requestId);
  results.dataset.count = String(a.hits.length);
  if (document.activeElement === results && a.hits.length > 0) select(0);
}

function renderGroup(relPath: string, hits: readonly { hit: SearchHit; index: number }[], m: SearchMode): HTMLElement {
  const slash = relPath.lastIndexOf('/');
  const header = h(
    'div',
    { class: 'file-header', role: 'presentation', title: relPath },
    h('span', { class: 'file-name' }, relPath.slice(slash + 1)),
    h('span', { class: 'file-dir' }, slash > 0 ? relPath.slice(0, slash) : ''),
    h('span', { class: 'file-count' }, String(hits.length)),
  );
  return h('div', { class: 'file-group', role: 'group', 'aria-label': relPath }, header, ...hits.map(({ hit, index }) => renderHit(hit, index, m)));
}

function renderHit(hit: SearchHit, index: number, m: SearchMode): HTMLElement {
  const p = preview(hit);
  const lines = p.lines.map((segments, i) =>
    h(
      'div',
      { class: 'line' },
      h('span', { class: 'line-number', 'aria-hidden': 'true' }, String(p.firstLine + i + 1)),
      h('span', { class: 'line-text' }, ...segments.map((s) => (s.mark ? h('mark', {}, s.text) : s.text))),
    ),
  );
  const more = p.hiddenBefore + p.hiddenAfter;
  const head = h(
    'div',
    { class: 'hit-head' },
    h('span', { class: 'lines' }, `Lines ${lineRange(hit)}`),
    ...(hit.context ? [h('span', { class: 'context', title: `In ${hit.context}` }, hit.context)] : []),
    ...(hit.unsaved ? [h('span', { class: 'badge', title: 'From unsaved changes in an open editor' }, 'unsaved')] : []),
    h('span', { class: 'score' }, scoreText(hit.score, m)),
  );
  return h(
    'div',
    { class: 'hit', role: 'option', id: `hit-${index}`, 'data-index': String(index), 'aria-selected': 'false', title: `${hit.relPath}:${hit.startLine + 1} — Enter or click to open` },
    head,
    h('div', { class: 'passage' }, ...lines, ...(more > 0 ? [h('div', { class: 'more' }, `… ${more} more ${more === 1 ? 'line' : 'lines'} in this passage`)] : [])),
    h('div', { class: 'why' }, whyText(hit)),
  );
}

function renderIndexState(): void {
  const s = indexState;
  app.dataset.index = s.kind;
  indexProgress.hidden = s.kind !== 'indexing';
  cancelIndexing.hidden = s.kind !== 'indexing';
  indexNow.hidden = !(s.kind === 'notIndexed' || s.kind === 'error' || (s.kind === 'ready' && s.partial));
  indexNow.textContent = s.kind === 'ready' && s.partial ? 'Resume' : s.kind === 'error' ? 'Retry' : 'Index now';
  skippedButton.hidden = true;
  indexBar.classList.toggle('error', s.kind === 'error');
  switch (s.kind) {
    case 'notIndexed':
      indexText.textContent = s.reason ?? 'Not indexed yet: the first search indexes the workspace.';
      break;
    case 'opening':
      indexText.textContent = s.message;
      break;
    case 'indexing':
      if (s.phase === 'scanning' || s.filesTotal === 0) {
        indexProgress.removeAttribute('value');
        indexText.textContent = 'Indexing: listing files…';
      } else {
        indexProgress.value = s.percent;
        indexText.textContent = `Indexing ${s.percent}% · ${s.filesDone.toLocaleString()} of ${s.filesTotal.toLocaleString()} files · ${s.chunksEmbedded.toLocaleString()} passages embedded`;
      }
      break;
    case 'ready': {
      const skipped = s.skipped.tooLarge + s.skipped.binary + s.skipped.unreadable + s.skipped.special;
      indexText.textContent = `Index: ${s.chunks.toLocaleString()} passages · ${s.files.toLocaleString()} files · ${s.model}${s.partial ? ' · indexing was cancelled' : ''}`;
      if (skipped > 0) {
        skippedButton.hidden = false;
        skippedButton.textContent = `${skipped} skipped`;
      }
      break;
    }
    case 'error':
      indexText.textContent = s.message;
      break;
  }
}
