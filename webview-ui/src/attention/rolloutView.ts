import type { ShownToken } from './tokenLabels';
import { h, themeColor } from '../shared/host';
import { labelIndex } from './heatmap';

export interface RolloutViewInput {
  readonly tokens: readonly ShownToken[];
  /** Rollout weights of the chosen query token over all tokens (sums to 1). */
  readonly row: ArrayLike<number>;
  readonly query: number;
  readonly visible: readonly number[];
  readonly threshold: number;
  /** Label of what `row` is, e.g. "Rollout through layer 6" or "Layer 3, mean of heads". */
  readonly caption: string;
}

export interface RolloutViewEvents {
  onQuery(index: number): void;
  onTokenHover(index: number | null): void;
}

/**
 * "What this token draws on": the input tokens inline, each shaded by how much the chosen token's representation
 * draws on it, plus the strongest sources as a ranked list. Click a token (or Enter on it) to make it the query.
 */
export class RolloutView {
  readonly element: HTMLElement;
  private readonly caption = h('div', { class: 'rollout-caption' });
  private readonly strip = h('div', { class: 'rollout-tokens', role: 'listbox', 'aria-label': 'Tokens: choose the one to explain' });
  private readonly ranking = h('ol', { class: 'rollout-ranking' });
  private canvasCache: HTMLCanvasElement | undefined;
  private input: RolloutViewInput | undefined;

  constructor(private readonly events: RolloutViewEvents) {
    this.element = h('div', { class: 'rollout-view' }, this.caption, this.strip, h('div', { class: 'rollout-subtitle' }, 'Strongest sources'), this.ranking);
    this.strip.addEventListener('click', (e) => {
      const index = labelIndex(e.target);
      if (index !== undefined) this.events.onQuery(index);
    });
    this.strip.addEventListener('keydown', (e) => {
      const index = labelIndex(e.target);
      if (index !== undefined && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        this.events.onQuery(index);
      }
    });
    this.strip.addEventListener('mouseover', (e) => this.events.onTokenHover(labelIndex(e.target) ?? null));
    this.strip.addEventListener('mouseleave', () => this.events.onTokenHover(null));
  }

  render(input: RolloutViewInput): number {
    const started = performance.now();
    this.input = input;
    this.canvasCache = undefined;
    const accent = themeColor('--vscode-charts-orange', '#d18616');
    let max = 0;
    for (const i of input.visible) if (i !== input.query) max = Math.max(max, input.row[i]!);
    this.caption.textContent = `${input.caption} — what “${input.tokens[input.query]?.text ?? ''}” draws on`;
    this.strip.replaceChildren(
      ...input.visible.map((i) => {
        const t = input.tokens[i]!;
        const w = input.row[i]!;
        const chip = h('span', {
          class: `rollout-token${i === input.query ? ' query' : ''}${t.special ? ' special' : t.continues ? ' subword' : ''}`,
          'data-index': String(i),
          'data-weight': String(w),
          tabindex: '0',
          role: 'option',
          'aria-selected': String(i === input.query),
          title: `${t.text}: ${w.toFixed(4)}`,
        }, t.text);
        const share = max > 0 ? Math.round((100 * w) / max) : 0;
        if (i !== input.query && w >= input.threshold) chip.style.background = `color-mix(in srgb, ${accent} ${share}%, transparent)`;
        return chip;
      }),
    );
    const ranked = input.visible
      .filter((i) => input.row[i]! >= input.threshold)
      .sort((a, b) => input.row[b]! - input.row[a]!)
      .slice(0, 8);
    this.ranking.replaceChildren(
      ...ranked.map((i) => h('li', { 'data-index': String(i) }, h('span', { class: 'token' }, input.tokens[i]!.text), h('span', { class: 'weight' }, input.row[i]!.toFixed(4)))),
    );
    return performance.now() - started;
  }

  /** The shaded tokens as a picture, for export. */
  toCanvas(): HTMLCanvasElement {
    if (this.canvasCache) return this.canvasCache;
    const input = this.input!;
    const out = h('canvas', {});
    const font = '13px monospace';
    const measure = out.getContext('2d')!;
    measure.font = font;
    const width = 640;
    const line = 22;
    let x = 8;
    let y = 8;
    const placed = input.visible.map((i) => {
      const w = measure.measureText(input.tokens[i]!.text).width + 8;
      if (x + w > width - 8) {
        x = 8;
        y += line;
      }
      const at = { i, x, y, w };
      x += w + 4;
      return at;
    });
    out.width = width;
    out.height = y + line + 8;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = themeColor('--vscode-editor-background', '#1e1e1e');
    ctx.fillRect(0, 0, out.width, out.height);
    let max = 0;
    for (const i of input.visible) if (i !== input.query) max = Math.max(max, input.row[i]!);
    ctx.font = font;
    ctx.textBaseline = 'middle';
    for (const p of placed) {
      if (p.i !== input.query && max > 0) {
        ctx.globalAlpha = input.row[p.i]! / max;
        ctx.fillStyle = themeColor('--vscode-charts-orange', '#d18616');
        ctx.fillRect(p.x, p.y, p.w, line - 4);
        ctx.globalAlpha = 1;
      }
      ctx.fillStyle = themeColor('--vscode-foreground', '#cccccc');
      ctx.fillText(input.tokens[p.i]!.text, p.x + 4, p.y + (line - 4) / 2);
    }
    return (this.canvasCache = out);
  }
}
