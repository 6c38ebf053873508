import type { ShownToken } from './tokenLabels';
import { h, themeColor } from '../shared/host';
import { labelIndex, tokenLabel } from './heatmap';
import { headColors, rgba } from './tokens';

export interface HeadViewInput {
  readonly tokens: readonly ShownToken[];
  readonly heads: number;
  /** `mapOf(head)` is the row-major n × n map of that head in the chosen layer. */
  readonly mapOf: (head: number) => ArrayLike<number>;
  readonly enabled: ReadonlySet<number>;
  readonly visible: readonly number[];
  readonly threshold: number;
  readonly width: number;
}

export interface HeadViewEvents {
  onToggleHead(head: number): void;
  onToggleAll(): void;
  onTokenHover(index: number | null): void;
  onTokenClick(index: number): void;
}

const ROW = 18;
/** Opacity levels lines are drawn at. */
const LEVELS = 16;
/** Weights below this would be drawn nearly transparent; they are skipped (and not counted). */
const MIN_VISIBLE = 0.01;

/**
 * BertViz-style head view: the tokens twice, queries left and keys right, joined by one line per head and
 * token pair whose opacity is the weight. Hovering a token keeps only its lines (as query on the left, as key
 * on the right); arrow keys walk the queries. The number of lines drawn is exposed as `data-lines`; weights under
 * the threshold (at least 0.01, which would be all but invisible) are not drawn.
 */
export class HeadView {
  readonly element: HTMLElement;
  readonly canvas = h('canvas', { class: 'head-lines', 'aria-hidden': 'true' });
  private readonly toggles = h('div', { class: 'head-toggles', role: 'group', 'aria-label': 'Heads' });
  private readonly left = h('div', { class: 'head-tokens left', tabindex: '0', role: 'listbox', 'aria-label': 'Query tokens' });
  private readonly right = h('div', { class: 'head-tokens right', role: 'list', 'aria-label': 'Key tokens' });
  private input: HeadViewInput | undefined;
  private focus: { side: 'left' | 'right'; index: number } | undefined;
  private cursorToken: number | null = null;

  constructor(private readonly events: HeadViewEvents) {
    this.element = h('div', { class: 'head-view' }, this.toggles, h('div', { class: 'head-columns' }, this.left, this.canvas, this.right));
    for (const [side, column] of [['left', this.left], ['right', this.right]] as const) {
      column.addEventListener('mouseover', (e) => {
        const index = labelIndex(e.target);
        if (index === undefined) return;
        this.focus = { side, index };
        this.draw();
        this.events.onTokenHover(index);
      });
      column.addEventListener('mouseleave', () => {
        this.focus = undefined;
        this.draw();
        this.events.onTokenHover(null);
      });
      column.addEventListener('click', (e) => {
        const index = labelIndex(e.target);
        if (index !== undefined) this.events.onTokenClick(index);
      });
    }
    this.left.addEventListener('keydown', (e) => this.onKey(e));
  }

  render(input: HeadViewInput): number {
    const started = performance.now();
    const previous = this.input;
    this.input = input;
    if (!previous || previous.heads !== input.heads || previous.enabled !== input.enabled) this.renderToggles(input);
    if (!previous || previous.tokens !== input.tokens || previous.visible !== input.visible) {
      this.left.replaceChildren(...input.visible.map((i) => tokenLabel(input.tokens[i]!, i, 'head-left')));
      this.right.replaceChildren(...input.visible.map((i) => tokenLabel(input.tokens[i]!, i, 'head-right')));
      if (this.focus && !input.visible.includes(this.focus.index)) this.focus = undefined;
      this.markCursorToken();
    }
    this.draw();
    return performance.now() - started;
  }

  setCursorToken(index: number | null): void {
    this.cursorToken = index;
    this.markCursorToken();
  }

  private markCursorToken(): void {
    for (const column of [this.left, this.right]) {
      for (const el of column.children) (el as HTMLElement).classList.toggle('cursor-token', Number((el as HTMLElement).dataset.index) === this.cursorToken);
    }
  }

  private renderToggles(input: HeadViewInput): void {
    const colors = headColors(input.heads);
    const all = h('button', { type: 'button', class: 'head-toggle all', 'aria-pressed': String(input.enabled.size === input.heads) }, 'All');
    all.addEventListener('click', () => this.events.onToggleAll());
    const buttons = colors.map((c, head) => {
      const on = input.enabled.has(head);
      const b = h('button', { type: 'button', class: 'head-toggle', 'data-head': String(head), 'aria-pressed': String(on), title: `Head ${head + 1}` }, String(head + 1));
      b.style.setProperty('--head-color', rgba(c, 1));
      b.addEventListener('click', () => this.events.onToggleHead(head));
      return b;
    });
    this.toggles.replaceChildren(all, ...buttons);
  }

  private draw(): void {
    const input = this.input;
    if (!input) return;
    const { visible, tokens, threshold } = input;
    const n = tokens.length;
    const width = Math.max(60, Math.min(240, input.width - 2 * 96 - 16));
    const height = visible.length * ROW;
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 1.5;
    const row = new Map(visible.map((i, r) => [i, r]));
    const colors = headColors(input.heads);
    const focus = this.focus;
    let lines = 0;
    const keyWeight = new Float64Array(n);
    const floor = Math.max(threshold, MIN_VISIBLE);
    for (const head of input.enabled) {
      const map = input.mapOf(head);
      // Lines are grouped into a few opacity levels, one path each: a handful of strokes instead of one per line.
      const levels = Array.from({ length: LEVELS }, () => new Path2D());
      for (const q of visible) {
        if (focus?.side === 'left' && focus.index !== q) continue;
        const y0 = (row.get(q)! + 0.5) * ROW;
        for (const k of visible) {
          if (focus?.side === 'right' && focus.index !== k) continue;
          const w = map[q * n + k]!;
          if (focus?.side === 'left') keyWeight[k]! += w / input.enabled.size;
          if (w < floor) continue;
          const path = levels[Math.min(LEVELS - 1, Math.floor(w * LEVELS))]!;
          path.moveTo(0, y0);
          path.lineTo(width, (row.get(k)! + 0.5) * ROW);
          lines++;
        }
      }
      levels.forEach((path, level) => {
        ctx.strokeStyle = rgba(colors[head]!, (level + 0.5) / LEVELS);
        ctx.stroke(path);
      });
    }
    this.canvas.dataset.lines = String(lines);
    const highlight = themeColor('--vscode-charts-blue', '#3794ff');
    for (const el of this.right.children) {
      const k = Number((el as HTMLElement).dataset.index);
      (el as HTMLElement).style.background = focus?.side === 'left' ? `color-mix(in srgb, ${highlight} ${Math.round(keyWeight[k]! * 100)}%, transparent)` : '';
    }
    for (const el of this.left.children) (el as HTMLElement).classList.toggle('focused', focus?.side === 'left' && Number((el as HTMLElement).dataset.index) === focus.index);
  }

  private onKey(e: KeyboardEvent): void {
    const input = this.input;
    if (!input || input.visible.length === 0) return;
    const at = this.focus?.side === 'left' ? input.visible.indexOf(this.focus.index) : -1;
    let next: number | undefined;
    if (e.key === 'ArrowDown') next = Math.min(input.visible.length - 1, at + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, at <= 0 ? 0 : at - 1);
    else if (e.key === 'Escape') {
      this.focus = undefined;
      this.draw();
      this.events.onTokenHover(null);
      return;
    } else if (e.key === 'Enter' && this.focus) {
      this.events.onTokenClick(this.focus.index);
      return;
    }
    if (next === undefined) return;
    e.preventDefault();
    this.focus = { side: 'left', index: input.visible[next]! };
    this.draw();
    this.events.onTokenHover(this.focus.index);
  }

  /** A self-contained picture (tokens and lines) for export. */
  toCanvas(): HTMLCanvasElement {
    const input = this.input!;
    const labels = input.visible.map((i) => input.tokens[i]!.text);
    const font = '12px monospace';
    const measure = document.createElement('canvas').getContext('2d')!;
    measure.font = font;
    const colWidth = Math.ceil(Math.max(40, ...labels.map((l) => measure.measureText(l).width))) + 12;
    const linesWidth = this.canvas.width / (window.devicePixelRatio || 1);
    const out = h('canvas', {});
    out.width = colWidth * 2 + linesWidth;
    out.height = labels.length * ROW + 8;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = themeColor('--vscode-editor-background', '#1e1e1e');
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(this.canvas, colWidth, 4, linesWidth, labels.length * ROW);
    ctx.fillStyle = themeColor('--vscode-foreground', '#cccccc');
    ctx.font = font;
    ctx.textBaseline = 'middle';
    labels.forEach((l, i) => {
      ctx.textAlign = 'right';
      ctx.fillText(l, colWidth - 6, 4 + (i + 0.5) * ROW);
      ctx.textAlign = 'left';
      ctx.fillText(l, colWidth + linesWidth + 6, 4 + (i + 0.5) * ROW);
    });
    return out;
  }
}
