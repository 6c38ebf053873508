import type { AttentionPayload, AttentionViewToHost } from '../../../src/protocol/attentionView';
import { isHostToAttentionView } from '../../../src/protocol/attentionView';
import { rolloutRowFromMeans } from '../../../src/core/attention/aggregate';
import { dequantize, describeReadPart } from '../../../src/protocol/attention';
import { connectToHost, h } from '../shared/host';
import { Heatmap, type HeatmapCell } from './heatmap';
import { HeadView } from './headView';
import { ModelView } from './modelView';
import { RolloutView } from './rolloutView';
import { shownTokens, type ShownToken } from './tokenLabels';
import { visibleTokens } from './tokens';

type Tab = 'heatmap' | 'heads' | 'model' | 'rollout';

interface ViewState {
  readonly tab: Tab;
  readonly layer: number;
  /** A head index, or 'mean' for the mean over heads. */
  readonly head: number | 'mean';
  /** Heads drawn in the head view; null means all. */
  readonly enabledHeads: readonly number[] | null;
  readonly hideSpecial: boolean;
  readonly hidePunctuation: boolean;
  readonly threshold: number;
  /** Rollout through this layer; null means the last. */
  readonly rolloutLayer: number | null;
  readonly rolloutQuery: number | null;
}

const DEFAULT_STATE: ViewState = {
  tab: 'heatmap',
  layer: 0,
  head: 0,
  enabledHeads: null,
  hideSpecial: false,
  hidePunctuation: false,
  threshold: 0,
  rolloutLayer: null,
  rolloutQuery: null,
};

const host = connectToHost<AttentionViewToHost, ViewState>();
let state: ViewState = { ...DEFAULT_STATE, ...host.state };
let payload: AttentionPayload | undefined;
/** The payload's tokens as labels people read. */
let tokens: ShownToken[] = [];
/** Layers received so far (`[head][query][key]`), and the head means of every layer (`[layer][query][key]`). */
let layerMaps = new Map<number, Float32Array<ArrayBufferLike>>();
let means: Float32Array<ArrayBufferLike> = new Float32Array(0);
const requestedLayers = new Set<number>();
let pinned = false;
let enabled: ReadonlySet<number> = new Set();
let visible: number[] = [];
let cursorToken: number | null = null;

const app = document.getElementById('app')!;
const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
const header = h('div', { class: 'header' });
const windowBar = h('div', { class: 'window-bar', hidden: '' });
const tabs: Record<Tab, HTMLButtonElement> = {
  heatmap: h('button', { type: 'button', role: 'tab', id: 'tab-heatmap', 'data-tab': 'heatmap' }, 'Heatmap'),
  heads: h('button', { type: 'button', role: 'tab', id: 'tab-heads', 'data-tab': 'heads' }, 'Heads'),
  model: h('button', { type: 'button', role: 'tab', id: 'tab-model', 'data-tab': 'model' }, 'Model'),
  rollout: h('button', { type: 'button', role: 'tab', id: 'tab-rollout', 'data-tab': 'rollout' }, 'Rollout'),
};
const pinButton = h('button', { type: 'button', class: 'icon', id: 'pin', 'aria-pressed': 'false', title: 'Pin: stop following the editor selection' }, 'Pin');
const jsonButton = h('button', { type: 'button', class: 'icon', id: 'export-json', title: 'Save the attention data as JSON' }, 'JSON');
const pngButton = h('button', { type: 'button', class: 'icon', id: 'export-png', title: 'Save the current view as PNG' }, 'PNG');
const toolbar = h(
  'div',
  { class: 'toolbar' },
  h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Views' }, ...Object.values(tabs)),
  h('div', { class: 'actions' }, pinButton, jsonButton, pngButton),
);
const layerSelect = h('select', { id: 'layer', 'aria-label': 'Layer' });
const headSelect = h('select', { id: 'head', 'aria-label': 'Head' });
const rolloutSelect = h('select', { id: 'rollout-layer', 'aria-label': 'Rollout through layer' });
const hideSpecial = h('input', { type: 'checkbox', id: 'hide-special' });
const hidePunctuation = h('input', { type: 'checkbox', id: 'hide-punctuation' });
const threshold = h('input', { type: 'range', id: 'threshold', min: '0', max: '0.5', step: '0.01', 'aria-label': 'Hide weights below' });
const thresholdValue = h('span', { class: 'threshold-value' });
const layerControl = h('span', { class: 'control' }, h('label', { for: 'layer' }, 'Layer'), layerSelect);
const headControl = h('span', { class: 'control' }, h('label', { for: 'head' }, 'Head'), headSelect);
const rolloutControl = h('span', { class: 'control' }, h('label', { for: 'rollout-layer' }, 'Through layer'), rolloutSelect);
const specialControl = h('span', { class: 'control' }, hideSpecial, h('label', { for: 'hide-special' }, '[CLS]/[SEP]'));
const controls = h(
  'div',
  { class: 'controls' },
  layerControl,
  headControl,
  rolloutControl,
  specialControl,
  h('span', { class: 'control' }, hidePunctuation, h('label', { for: 'hide-punctuation' }, 'punctuation')),
  h('span', { class: 'control' }, h('label', { for: 'threshold' }, 'Min'), threshold, thresholdValue),
);
const readout = h('div', { id: 'readout', class: 'readout', 'aria-live': 'polite' });

const linkEvents = {
  onTokenHover: (index: number | null) => host.post({ type: 'highlightToken', index, reveal: false }),
  onTokenClick: (index: number) => host.post({ type: 'highlightToken', index, reveal: true }),
};
const heatmap = new Heatmap({ onCell: showCell, ...linkEvents });
const headView = new HeadView({
  ...linkEvents,
  onToggleHead: (head) => {
    const next = new Set(enabled);
    if (next.has(head)) next.delete(head);
    else next.add(head);
    update({ enabledHeads: [...next].sort((a, b) => a - b) });
  },
  onToggleAll: () => update({ enabledHeads: enabled.size === payload?.heads ? [] : null }),
});
const modelView = new ModelView({
  onOpen: (layer, head) => update({ tab: 'heads', layer, enabledHeads: [head] }),
  onCell: (cell) => {
    if (!cell) return showCell(undefined);
    if (cell.weight === undefined) {
      readout.textContent = `Layer ${cell.layer + 1}, head ${cell.head + 1}: loading…`;
      delete readout.dataset.weight;
      return;
    }
    showCell({ ...cell, weight: cell.weight }, `Layer ${cell.layer + 1}, head ${cell.head + 1}`);
  },
});
const rolloutView = new RolloutView({ onQuery: (index) => update({ rolloutQuery: index }), onTokenHover: linkEvents.onTokenHover });
const panel = h('div', { class: 'panel', role: 'tabpanel' });

const inspectButton = h('button', { class: 'primary', type: 'button' }, 'Inspect Selection');
const empty = h(
  'div',
  { class: 'empty' },
  h('p', {}, 'Select text in an editor: the view follows the selection. Or run “BERT Lens: Inspect Attention of Selection” (also in the editor context menu).'),
  inspectButton,
);
const result = h('div', { class: 'result', hidden: '' }, header, windowBar, toolbar, controls, readout, panel);
app.append(status, empty, result);

inspectButton.addEventListener('click', () => host.post({ type: 'inspectSelection' }));
for (const [tab, button] of Object.entries(tabs) as [Tab, HTMLButtonElement][]) button.addEventListener('click', () => update({ tab }));
layerSelect.addEventListener('change', () => update({ layer: Number(layerSelect.value) }));
headSelect.addEventListener('change', () => update({ head: headSelect.value === 'mean' ? 'mean' : Number(headSelect.value) }));
rolloutSelect.addEventListener('change', () => update({ rolloutLayer: Number(rolloutSelect.value) }));
hideSpecial.addEventListener('change', () => update({ hideSpecial: hideSpecial.checked }));
hidePunctuation.addEventListener('change', () => update({ hidePunctuation: hidePunctuation.checked }));
threshold.addEventListener('input', () => update({ threshold: Number(threshold.value) }));
pinButton.addEventListener('click', () => host.post({ type: 'setPinned', pinned: !pinned }));
jsonButton.addEventListener('click', () => host.post({ type: 'exportJson' }));
pngButton.addEventListener('click', () => exportPng());
let drawnWidth = 0;
new ResizeObserver(() => {
  // Only a change of the view's width needs a new layout; redrawing on every resize notification could loop.
  if (app.clientWidth !== drawnWidth) draw();
}).observe(app);

host.onMessage(isHostToAttentionView, (m) => {
  switch (m.type) {
    case 'busy':
      setStatus(m.message, 'busy');
      break;
    case 'error':
      setStatus(m.message, 'error');
      break;
    case 'pinned':
      pinned = m.pinned;
      pinButton.setAttribute('aria-pressed', String(pinned));
      pinButton.textContent = pinned ? 'Pinned' : 'Pin';
      break;
    case 'cursorToken':
      cursorToken = m.index;
      heatmap.setCursorToken(cursorToken);
      headView.setCursorToken(cursorToken);
      break;
    case 'show':
      setStatus('', '');
      payload = m.payload;
      tokens = shownTokens(payload.tokens);
      app.dataset.transferMs = String(Date.now() - payload.sentAt);
      layerMaps = new Map([[payload.layer, dequantize(payload.layerWeights)]]);
      means = dequantize(payload.layerMeans);
      requestedLayers.clear();
      cursorToken = null;
      render();
      break;
    case 'layer':
      if (payload && m.id === payload.id) {
        layerMaps.set(m.layer, dequantize(m.weights));
        draw();
      }
      break;
  }
});
host.post({ type: 'ready' });

/** The maps of `layer`, or undefined after asking the host for them (they arrive as a `layer` message). */
function layerData(layer: number): Float32Array<ArrayBufferLike> | undefined {
  const data = layerMaps.get(layer);
  if (data || !payload) return data;
  if (!requestedLayers.has(layer)) {
    requestedLayers.add(layer);
    host.post({ type: 'requestLayer', id: payload.id, layer });
  }
  return undefined;
}

function setStatus(text: string, kind: string): void {
  status.textContent = text;
  status.className = `status ${kind}`;
}

function update(change: Partial<ViewState>): void {
  state = { ...state, ...change };
  host.saveState(state);
  draw();
}

function options(select: HTMLSelectElement, count: number, selected: string, extra: [string, string][] = []): void {
  select.replaceChildren(
    ...extra.map(([value, label]) => h('option', { value }, label)),
    ...Array.from({ length: count }, (_, i) => h('option', { value: String(i) }, String(i + 1))),
  );
  select.value = selected;
}

function render(): void {
  if (!payload) return;
  const p = payload;
  const head = state.head === 'mean' ? 'mean' : Math.min(state.head, p.heads - 1);
  state = {
    ...state,
    layer: Math.min(state.layer, p.layers - 1),
    head,
    enabledHeads: state.enabledHeads?.filter((h) => h < p.heads) ?? null,
    rolloutQuery: state.rolloutQuery !== null && state.rolloutQuery < p.tokens.length ? state.rolloutQuery : null,
    rolloutLayer: state.rolloutLayer !== null ? Math.min(state.rolloutLayer, p.layers - 1) : null,
  };
  const part = describeReadPart(p.read);
  header.replaceChildren(
    h('div', { class: 'source' }, p.source.label),
    h('div', { class: 'meta' }, `${p.model} · ${p.tokens.length} tokens · ${p.layers} layers × ${p.heads} heads · ${Math.round(p.elapsedMs)} ms`),
    ...(part
      ? [h('div', { class: 'read', role: 'note', title: `${p.read.chars.toLocaleString('en')} of ${p.read.totalChars.toLocaleString('en')} characters` }, `Read the ${part} of the selection; the rest was not analysed.`)]
      : []),
  );
  renderWindowBar(p);
  // Models without [CLS]/[SEP]-style tokens get no filter for them.
  specialControl.hidden = !p.tokens.some((t) => t.special);
  empty.hidden = true;
  result.hidden = false;
  draw();
}

function renderWindowBar(p: AttentionPayload): void {
  if (!p.truncated) {
    windowBar.hidden = true;
    return;
  }
  const shown = p.tokens.filter((t) => !t.special).length;
  const last = Math.max(0, p.window.textTokens - shown);
  const slider = h('input', { type: 'range', id: 'window', min: '0', max: String(last), step: '1', value: String(p.window.start), 'aria-label': 'Window start (token)' });
  const previous = h('button', { type: 'button', id: 'window-previous' }, '◀');
  const next = h('button', { type: 'button', id: 'window-next' }, '▶');
  const label = h('span', { class: 'window-label' });
  const describe = (start: number): void => {
    label.textContent = `Tokens ${start + 1}–${start + shown} of ${p.window.textTokens}`;
  };
  describe(p.window.start);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const move = (start: number): void => {
    const s = Math.max(0, Math.min(last, start));
    slider.value = String(s);
    describe(s);
    clearTimeout(timer);
    timer = setTimeout(() => host.post({ type: 'moveWindow', start: s }), 250);
  };
  slider.addEventListener('input', () => move(Number(slider.value)));
  previous.addEventListener('click', () => move(p.window.start - Math.floor(shown / 2)));
  next.addEventListener('click', () => move(p.window.start + Math.floor(shown / 2)));
  windowBar.replaceChildren(
    h('div', { class: 'notice', role: 'note' }, windowNotice(p)),
    h('div', { class: 'window-controls' }, previous, slider, next, label),
  );
  windowBar.hidden = false;
}

function windowNotice(p: AttentionPayload): string {
  const part = describeReadPart(p.read);
  if (!part) return `Long input: ${p.inputTokens} tokens, the model reads ${p.maxTokens} at a time. Move the window to read the rest.`;
  return `Long input: the ${part} hold ${p.inputTokens} tokens; the model reads ${p.maxTokens} at a time. Move the window within that part.`;
}

function draw(): void {
  if (!payload) return;
  const p = payload;
  const n = p.tokens.length;
  const size = n * n;
  visible = visibleTokens(tokens, state);
  enabled = new Set(state.enabledHeads ?? Array.from({ length: p.heads }, (_, i) => i));
  for (const [tab, button] of Object.entries(tabs)) button.setAttribute('aria-selected', String(tab === state.tab));
  options(layerSelect, p.layers, String(state.layer));
  options(headSelect, p.heads, String(state.head), [['mean', 'Mean']]);
  options(rolloutSelect, p.layers, String(state.rolloutLayer ?? p.layers - 1));
  hideSpecial.checked = state.hideSpecial;
  hidePunctuation.checked = state.hidePunctuation;
  threshold.value = String(state.threshold);
  thresholdValue.textContent = state.threshold.toFixed(2);
  layerControl.hidden = state.tab === 'model' || state.tab === 'rollout';
  headControl.hidden = state.tab !== 'heatmap';
  rolloutControl.hidden = state.tab !== 'rollout';
  readout.hidden = state.tab === 'heads' || state.tab === 'rollout';
  const width = app.clientWidth;
  drawnWidth = width;
  const meanOf = (layer: number): Float32Array => means.subarray(layer * size, (layer + 1) * size);
  let ms = 0;
  let view: HTMLElement | undefined;
  switch (state.tab) {
    case 'heatmap': {
      const head = state.head;
      const layer = head === 'mean' ? undefined : layerData(state.layer);
      const map = head === 'mean' ? meanOf(state.layer) : layer?.subarray(head * size, (head + 1) * size);
      if (map) {
        ms = heatmap.render({ tokens, map, visible, threshold: state.threshold, width });
        view = heatmap.element;
      }
      break;
    }
    case 'heads': {
      const layer = layerData(state.layer);
      if (layer) {
        ms = headView.render({ tokens, heads: p.heads, mapOf: (head) => layer.subarray(head * size, (head + 1) * size), enabled, visible, threshold: state.threshold, width });
        view = headView.element;
      }
      break;
    }
    case 'model':
      ms = modelView.render({
        layers: p.layers,
        heads: p.heads,
        n,
        thumbnails: p.thumbnails,
        thumbnailSize: p.thumbnailSize,
        weightAt: (layer, head, q, k) => layerData(layer)?.[head * size + q * n + k],
        width,
      });
      view = modelView.element;
      break;
    case 'rollout': {
      const through = state.rolloutLayer ?? p.layers - 1;
      const query = Math.max(0, state.rolloutQuery ?? cursorToken ?? p.tokens.findIndex((t) => !t.special));
      const started = performance.now();
      const row = rolloutRowFromMeans(meanOf, n, query, through);
      ms = performance.now() - started;
      ms += rolloutView.render({ tokens, row, query, visible, threshold: state.threshold, caption: `Rollout through layer ${through + 1} (mean of heads + residual)` });
      view = rolloutView.element;
      break;
    }
  }
  if (!view) {
    panel.replaceChildren(h('div', { class: 'loading' }, `Loading layer ${state.layer + 1}…`));
    delete app.dataset.renderMs;
  } else {
    if (panel.firstChild !== view) panel.replaceChildren(view);
    app.dataset.renderMs = ms.toFixed(1);
  }
  panel.setAttribute('aria-labelledby', `tab-${state.tab}`);
  app.dataset.tab = state.tab;
}

function showCell(cell: HeatmapCell | undefined, prefix?: string): void {
  if (!cell || !payload) {
    readout.textContent = 'Hover a cell or focus the map and use the arrow keys.';
    delete readout.dataset.weight;
    return;
  }
  const q = tokens[cell.query]!;
  const k = tokens[cell.key]!;
  const where = prefix ?? `Layer ${state.layer + 1}, ${state.head === 'mean' ? 'mean of heads' : `head ${state.head + 1}`}`;
  readout.textContent = `${where}: “${q.text}” → “${k.text}” = ${cell.weight.toFixed(4)}`;
  readout.dataset.query = String(cell.query);
  readout.dataset.key = String(cell.key);
  readout.dataset.weight = String(cell.weight);
}

function exportPng(): void {
  if (!payload) return;
  try {
    const canvas =
      state.tab === 'heatmap' ? heatmap.toCanvas() : state.tab === 'heads' ? headView.toCanvas() : state.tab === 'model' ? modelView.toCanvas() : rolloutView.toCanvas();
    host.post({ type: 'exportImage', format: 'png', data: canvas.toDataURL('image/png') });
  } catch (e) {
    setStatus(`Could not draw the picture: ${e instanceof Error ? e.message : String(e)}`, 'error');
  }
}
