import type { AttentionPayload, AttentionViewToHost } from '../../../src/protocol/attentionView';
import { isHostToAttentionView } from '../../../src/protocol/attentionView';
import { connectToHost, h } from '../shared/host';
import { Heatmap, type HeatmapCell } from './heatmap';

interface ViewState {
  readonly layer: number;
  readonly head: number;
}

const host = connectToHost<AttentionViewToHost, ViewState>();
let state: ViewState = host.state ?? { layer: 0, head: 0 };
let payload: AttentionPayload | undefined;

const app = document.getElementById('app')!;
const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
const header = h('div', { class: 'header' });
const layerSelect = h('select', { id: 'layer', 'aria-label': 'Layer' });
const headSelect = h('select', { id: 'head', 'aria-label': 'Head' });
const controls = h(
  'div',
  { class: 'controls' },
  h('label', { for: 'layer' }, 'Layer'),
  layerSelect,
  h('label', { for: 'head' }, 'Head'),
  headSelect,
);
const readout = h('div', { id: 'readout', class: 'readout', 'aria-live': 'polite' });
const heatmap = new Heatmap(showCell);
const inspectButton = h('button', { class: 'primary', type: 'button' }, 'Inspect Selection');
const empty = h(
  'div',
  { class: 'empty' },
  h('p', {}, 'Select text in an editor, then run “BERT Lens: Inspect Attention of Selection” (also in the editor context menu).'),
  inspectButton,
);
const result = h('div', { class: 'result', hidden: '' }, header, controls, readout, heatmap.element);
app.append(status, empty, result);

inspectButton.addEventListener('click', () => host.post({ type: 'inspectSelection' }));
layerSelect.addEventListener('change', () => select(Number(layerSelect.value), state.head));
headSelect.addEventListener('change', () => select(state.layer, Number(headSelect.value)));
new ResizeObserver(() => draw()).observe(app);

host.onMessage(isHostToAttentionView, (m) => {
  switch (m.type) {
    case 'busy':
      status.textContent = m.message;
      status.className = 'status busy';
      break;
    case 'error':
      status.textContent = m.message;
      status.className = 'status error';
      break;
    case 'show':
      status.textContent = '';
      status.className = 'status';
      payload = m.payload;
      render();
      break;
  }
});
host.post({ type: 'ready' });

function options(select: HTMLSelectElement, count: number, selected: number): void {
  select.replaceChildren(...Array.from({ length: count }, (_, i) => h('option', { value: String(i) }, String(i + 1))));
  select.value = String(selected);
}

function render(): void {
  if (!payload) return;
  const p = payload;
  state = { layer: Math.min(state.layer, p.layers - 1), head: Math.min(state.head, p.heads - 1) };
  options(layerSelect, p.layers, state.layer);
  options(headSelect, p.heads, state.head);
  const notes = [
    `${p.tokens.length} tokens`,
    `${p.layers} layers × ${p.heads} heads`,
    `${Math.round(p.elapsedMs)} ms`,
  ];
  header.replaceChildren(
    h('div', { class: 'source' }, p.source.label),
    h('div', { class: 'meta' }, `${p.model} · ${notes.join(' · ')}`),
  );
  if (p.truncated) {
    header.append(
      h('div', { class: 'notice', role: 'note' }, `Input truncated: ${p.inputTokens} tokens, the model reads at most ${p.maxTokens}; only the beginning is shown.`),
    );
  }
  empty.hidden = true;
  result.hidden = false;
  draw();
}

function draw(): void {
  if (!payload) return;
  const n = payload.tokens.length;
  const start = (state.layer * payload.heads + state.head) * n * n;
  heatmap.render(payload.tokens, payload.weights.subarray(start, start + n * n), app.clientWidth);
}

function select(layer: number, head: number): void {
  state = { layer, head };
  host.saveState(state);
  draw();
}

function showCell(cell: HeatmapCell | undefined): void {
  if (!cell || !payload) {
    readout.textContent = 'Hover a cell or focus the map and use the arrow keys.';
    delete readout.dataset.weight;
    return;
  }
  const q = payload.tokens[cell.query]!;
  const k = payload.tokens[cell.key]!;
  readout.textContent = `Layer ${state.layer + 1}, head ${state.head + 1}: “${q.text}” → “${k.text}” = ${cell.weight.toFixed(4)}`;
  readout.dataset.query = String(cell.query);
  readout.dataset.key = String(cell.key);
  readout.dataset.weight = String(cell.weight);
}
