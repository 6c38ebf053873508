import type { TokenSpan } from '../../../src/protocol/attention';
import type { CrossAttentionView } from '../../../src/protocol/summaryView';
import { h } from '../shared/host';

/** A layer index, or 'mean' for the mean over layers. */
export type LayerChoice = number | 'mean';

export interface WhereFromEvents {
  /** A source token was clicked: reveal `[start, end)` of the source text in the document. */
  readonly onSourceClick: (start: number, end: number) => void;
  /** The layer picker or the selected generated token changed (to save the view state). */
  readonly onChange: (layer: LayerChoice, selected: number | null) => void;
}

/**
 * "Where did this come from": the generated summary as tokens; hovering one shades the source text by the
 * cross-attention that token gave each source token (mean over heads, one layer or the mean over layers), clicking
 * one keeps it shaded. Source tokens link to the document when the source is the summarised text itself.
 */
export class WhereFrom {
  readonly summary = h('p', { class: 'summary-text tokens', 'aria-label': 'Generated tokens: hover or click one' });
  readonly element: HTMLElement;
  private readonly layerSelect = h('select', { id: 'cross-layer', 'aria-label': 'Decoder layer' });
  private readonly source = h('div', { class: 'source-text', 'aria-label': 'Source text shaded by attention' });
  private readonly readout = h('div', { class: 'readout', id: 'cross-readout', 'aria-live': 'polite' });
  private data: CrossAttentionView | undefined;
  private sourceSpans: HTMLElement[] = [];
  private targetSpans: HTMLElement[] = [];
  private layer: LayerChoice = 'mean';
  private selected: number | null = null;
  private shown: number | null = null;

  constructor(private readonly events: WhereFromEvents) {
    this.element = h(
      'section',
      { class: 'where-from' },
      h('h3', {}, 'Where did this come from?'),
      h('div', { class: 'controls' }, h('label', { for: 'cross-layer' }, 'Decoder layer'), this.layerSelect),
      this.readout,
      this.source,
    );
    this.layerSelect.addEventListener('change', () => {
      this.layer = this.layerSelect.value === 'mean' ? 'mean' : Number(this.layerSelect.value);
      this.events.onChange(this.layer, this.selected);
      this.shade(this.shown);
    });
  }

  get hasData(): boolean {
    return this.data !== undefined;
  }

  /** Shows `data`, restoring a layer choice and a selected token. */
  show(data: CrossAttentionView, layer: LayerChoice, selected: number | null): void {
    this.data = data;
    this.layer = layer === 'mean' || layer < data.layers ? layer : 'mean';
    this.selected = selected !== null && selected < data.targetTokens.length ? selected : null;
    this.layerSelect.replaceChildren(
      h('option', { value: 'mean' }, `mean of ${data.layers} layers`),
      ...Array.from({ length: data.layers }, (_, l) => h('option', { value: String(l) }, `layer ${l + 1}`)),
    );
    this.layerSelect.value = String(this.layer);
    this.targetSpans = [];
    this.summary.replaceChildren(...this.tokenNodes(data.targetText, data.targetTokens, 'target-token', this.targetSpans));
    this.targetSpans.forEach((span) => {
      const t = Number(span.dataset.index);
      span.tabIndex = 0;
      span.setAttribute('role', 'button');
      span.addEventListener('mouseenter', () => this.shade(t));
      span.addEventListener('mouseleave', () => this.shade(this.selected));
      span.addEventListener('focus', () => this.shade(t));
      span.addEventListener('click', () => this.select(t));
      span.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          this.select(t);
        }
      });
    });
    this.targetSpans.forEach((s) => s.classList.toggle('selected', Number(s.dataset.index) === this.selected));
    this.sourceSpans = [];
    const lastEnd = data.sourceTokens.reduce((m, t) => Math.max(m, t.end), 0);
    const shownText = data.sourceText.slice(0, lastEnd);
    this.source.replaceChildren(...this.tokenNodes(shownText, data.sourceTokens, 'source-token', this.sourceSpans));
    if (data.truncated || lastEnd < data.sourceText.trimEnd().length) this.source.append(h('span', { class: 'unread' }, ' … (the rest was not read: the model’s input limit)'));
    this.source.classList.toggle('linked', data.linked);
    for (const span of this.sourceSpans) {
      const token = data.sourceTokens[Number(span.dataset.index)]!;
      if (data.linked) span.addEventListener('click', () => this.events.onSourceClick(token.start, token.end));
    }
    this.readout.textContent = data.linked
      ? 'Hover or click a word of the summary to shade the source by how much the model attended to it. Click a source word to show it in the document.'
      : 'This summary was written from summaries of the parts of a long input: the shading is over those part summaries.';
    this.shade(this.selected);
  }

  clear(): void {
    this.data = undefined;
    this.summary.replaceChildren();
    this.source.replaceChildren();
    this.sourceSpans = [];
    this.targetSpans = [];
    this.selected = null;
  }

  private select(t: number): void {
    this.selected = this.selected === t ? null : t;
    this.targetSpans.forEach((s) => s.classList.toggle('selected', Number(s.dataset.index) === this.selected));
    this.events.onChange(this.layer, this.selected);
    this.shade(this.selected ?? t);
  }

  /** Text with a span per non-empty token (`data-index` = token index); the text between tokens stays plain. */
  private tokenNodes(text: string, tokens: readonly TokenSpan[], className: string, spans: HTMLElement[]): Node[] {
    const nodes: Node[] = [];
    let at = 0;
    const order = tokens.map((t, i) => ({ t, i })).filter(({ t }) => !t.special && t.end > t.start && t.end <= text.length).sort((a, b) => a.t.start - b.t.start);
    for (const { t, i } of order) {
      if (t.start < at) continue;
      if (t.start > at) nodes.push(document.createTextNode(text.slice(at, t.start)));
      const span = h('span', { class: className, 'data-index': String(i) }, text.slice(t.start, t.end));
      spans.push(span);
      nodes.push(span);
      at = t.end;
    }
    if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
    return nodes;
  }

  /** Weights row `t` gives the source tokens under the current layer choice. */
  private row(t: number): Float32Array {
    const d = this.data!;
    const targets = d.targetTokens.length;
    const sources = d.sourceTokens.length;
    const layers = this.layer === 'mean' ? Array.from({ length: d.layers }, (_, l) => l) : [this.layer];
    const out = new Float32Array(sources);
    for (const l of layers) {
      const from = (l * targets + t) * sources;
      for (let s = 0; s < sources; s++) out[s]! += d.means[from + s]! / layers.length;
    }
    return out;
  }

  private shade(t: number | null): void {
    this.shown = t;
    const d = this.data;
    if (!d) return;
    this.targetSpans.forEach((s) => s.classList.toggle('shown', Number(s.dataset.index) === t));
    this.summary.dataset.shown = t === null ? '' : String(t);
    if (t === null) {
      for (const span of this.sourceSpans) {
        span.style.removeProperty('background-color');
        delete span.dataset.weight;
        span.removeAttribute('title');
      }
      return;
    }
    const row = this.row(t);
    let max = 0;
    for (const w of row) max = Math.max(max, w);
    for (const span of this.sourceSpans) {
      const w = row[Number(span.dataset.index)]!;
      span.dataset.weight = String(w);
      span.title = `attention ${w.toFixed(4)}`;
      const share = max > 0 ? Math.round((100 * w) / max) : 0;
      span.style.setProperty('background-color', `color-mix(in srgb, var(--bert-lens-attention) ${share}%, transparent)`);
    }
    const target = d.targetTokens[t]!;
    const top = [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 3).map((s) => `“${d.sourceText.slice(d.sourceTokens[s]!.start, d.sourceTokens[s]!.end) || d.sourceTokens[s]!.text}” ${row[s]!.toFixed(3)}`);
    this.readout.textContent = `“${d.targetText.slice(target.start, target.end) || target.text}” drew most on ${top.join(', ')}`;
  }
}
