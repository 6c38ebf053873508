import { h, rgbOf, themeColor } from '../shared/host';
import { LEGEND_TICKS, scalePosition, writeWeightColor } from './colorScale';
import type { ShownToken } from './tokenLabels';

export interface HeatmapCell {
  readonly query: number;
  readonly key: number;
  readonly weight: number;
}

export interface HeatmapInput {
  readonly tokens: readonly ShownToken[];
  /** Row-major n × n weights over all tokens (rows = queries). */
  readonly map: ArrayLike<number>;
  /** Token indices shown as rows and columns, in order. */
  readonly visible: readonly number[];
  /** Cells below this weight are left blank. */
  readonly threshold: number;
  /** CSS pixels available. */
  readonly width: number;
}

export interface HeatmapEvents {
  onCell(cell: HeatmapCell | undefined): void;
  onTokenHover(index: number | null): void;
  onTokenClick(index: number): void;
}

const LABEL_WIDTH = 88;
/** Smallest cell edge in CSS pixels: every label stays legible (12 px text); longer inputs scroll. */
const MIN_CELL = 14;
const MAX_CELL = 28;
/** Gap between the pointer and the tooltip, and between the tooltip and the view's edge. */
const TOOLTIP_GAP = 12;
const VIEW_MARGIN = 4;

/**
 * A query × key heatmap drawn one pixel per cell and scaled up by CSS without smoothing, so 512 × 512 maps draw in
 * milliseconds and hold little memory. Cells never shrink below {@link MIN_CELL}: a long input scrolls, with the
 * token labels sticky on both axes. Colours follow a perceptual scale with a legend; a tooltip follows the pointer
 * and stays inside the view; a keyboard cursor (arrows, Home/End, PageUp/PageDown) reaches every cell.
 */
export class Heatmap {
  readonly element: HTMLElement;
  readonly canvas = h('canvas', { tabindex: '0', role: 'img', class: 'heatmap-canvas' });
  private readonly rowLabels = h('div', { class: 'row-labels' });
  private readonly colLabels = h('div', { class: 'col-labels', 'aria-hidden': 'true' });
  private readonly cursorBox = h('div', { class: 'heatmap-cursor', hidden: '' });
  private readonly scroller: HTMLElement;
  private readonly tooltip = h('div', { class: 'tooltip', role: 'tooltip', hidden: '' });
  private input: HeatmapInput | undefined;
  private cell = MIN_CELL;
  private cursor: { row: number; col: number } | undefined;
  private lastHover: { row: number; col: number } | undefined;
  private cursorToken: number | null = null;

  constructor(private readonly events: HeatmapEvents) {
    const plot = h('div', { class: 'heatmap-plot' }, this.canvas, this.cursorBox);
    const grid = h('div', { class: 'heatmap-grid' }, h('div', { class: 'corner' }), this.colLabels, this.rowLabels, plot);
    this.scroller = h('div', { class: 'heatmap-scroll' }, grid);
    this.element = h('div', { class: 'heatmap' }, legend(), this.scroller, this.tooltip);
    this.canvas.addEventListener('mousemove', (e) => this.onPointer(e));
    this.canvas.addEventListener('mouseleave', () => {
      this.tooltip.hidden = true;
      if (!this.cursor) this.events.onCell(undefined);
    });
    this.scroller.addEventListener('scroll', () => (this.tooltip.hidden = true));
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    this.canvas.addEventListener('focus', () => {
      // Keyboard reading starts where the pointer last was, so mouse and keyboard users meet in the same cell.
      if (!this.cursor && this.input && this.input.visible.length > 0) this.moveCursor(this.lastHover?.row ?? 0, this.lastHover?.col ?? 0);
    });
    this.rowLabels.addEventListener('mouseover', (e) => {
      const index = labelIndex(e.target);
      if (index !== undefined) this.events.onTokenHover(index);
    });
    this.rowLabels.addEventListener('mouseleave', () => this.events.onTokenHover(null));
    this.rowLabels.addEventListener('click', (e) => {
      const index = labelIndex(e.target);
      if (index !== undefined) this.events.onTokenClick(index);
    });
  }

  render(input: HeatmapInput): number {
    const started = performance.now();
    const previous = this.input;
    this.input = input;
    const m = input.visible.length;
    const room = Math.max(64, input.width - LABEL_WIDTH - 8);
    this.cell = Math.max(MIN_CELL, Math.min(MAX_CELL, Math.floor(room / Math.max(1, m))));
    this.element.style.setProperty('--cell', `${this.cell}px`);
    if (!previous || previous.tokens !== input.tokens || previous.visible !== input.visible) {
      const rows = input.visible.map((i) => tokenLabel(input.tokens[i]!, i, 'row'));
      this.rowLabels.replaceChildren(...rows);
      this.colLabels.replaceChildren(...input.visible.map((i) => tokenLabel(input.tokens[i]!, i, 'col')));
      if (this.cursor && (this.cursor.row >= m || this.cursor.col >= m)) this.cursor = undefined;
      if (this.lastHover && (this.lastHover.row >= m || this.lastHover.col >= m)) this.lastHover = undefined;
      this.markCursorToken();
    }
    this.canvas.setAttribute('aria-label', `Attention heatmap, ${m} by ${m} tokens. Use the arrow keys to read weights.`);
    this.draw();
    if (this.cursor) this.events.onCell(this.cellAt(this.cursor.row, this.cursor.col));
    return performance.now() - started;
  }

  /** Marks the token the editor caret is in. */
  setCursorToken(index: number | null): void {
    this.cursorToken = index;
    this.markCursorToken();
  }

  private markCursorToken(): void {
    for (const el of this.rowLabels.children) {
      (el as HTMLElement).classList.toggle('cursor-token', Number((el as HTMLElement).dataset.index) === this.cursorToken);
    }
  }

  private draw(): void {
    const input = this.input;
    if (!input) return;
    const { visible, map, threshold } = input;
    const n = input.tokens.length;
    const m = visible.length;
    const size = m * this.cell;
    this.canvas.width = Math.max(1, m);
    this.canvas.height = Math.max(1, m);
    this.canvas.style.width = `${size}px`;
    this.canvas.style.height = `${size}px`;
    this.placeCursor();
    if (m === 0) return;
    const [br, bg, bb] = rgbOf(themeColor('--vscode-editor-background', '#1e1e1e'));
    const pixels = new ImageData(m, m);
    const data = pixels.data;
    for (let row = 0; row < m; row++) {
      const q = visible[row]!;
      for (let col = 0; col < m; col++) {
        const w = map[q * n + visible[col]!]!;
        const p = (row * m + col) * 4;
        if (w >= threshold) writeWeightColor(data, p, w);
        else {
          data[p] = br;
          data[p + 1] = bg;
          data[p + 2] = bb;
          data[p + 3] = 255;
        }
      }
    }
    this.canvas.getContext('2d')!.putImageData(pixels, 0, 0);
  }

  private placeCursor(): void {
    const c = this.cursor;
    this.cursorBox.hidden = !c;
    if (!c) return;
    this.cursorBox.style.transform = `translate(${c.col * this.cell}px, ${c.row * this.cell}px)`;
  }

  private cellAt(row: number, col: number): HeatmapCell {
    const input = this.input!;
    const query = input.visible[row]!;
    const key = input.visible[col]!;
    return { query, key, weight: input.map[query * input.tokens.length + key]! };
  }

  private onPointer(e: MouseEvent): void {
    const input = this.input;
    if (!input) return;
    const rect = this.canvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - rect.left) / this.cell);
    const row = Math.floor((e.clientY - rect.top) / this.cell);
    const m = input.visible.length;
    if (col < 0 || row < 0 || col >= m || row >= m) return;
    const cell = this.cellAt(row, col);
    this.lastHover = { row, col };
    this.tooltip.textContent = `${input.tokens[cell.query]!.text} → ${input.tokens[cell.key]!.text}: ${cell.weight.toFixed(4)}`;
    this.tooltip.hidden = false;
    placeInView(this.tooltip, e.clientX, e.clientY);
    this.events.onCell(cell);
  }

  private onKey(e: KeyboardEvent): void {
    const m = this.input?.visible.length ?? 0;
    if (m === 0) return;
    const { row, col } = this.cursor ?? { row: 0, col: 0 };
    const page = Math.max(1, Math.floor(m / 8));
    const moves: Record<string, [number, number]> = {
      ArrowUp: [row - 1, col],
      ArrowDown: [row + 1, col],
      ArrowLeft: [row, col - 1],
      ArrowRight: [row, col + 1],
      Home: [row, 0],
      End: [row, m - 1],
      PageUp: [row - page, col],
      PageDown: [row + page, col],
    };
    const target = moves[e.key];
    if (!target) return;
    e.preventDefault();
    this.moveCursor(clamp(target[0], m), clamp(target[1], m));
  }

  private moveCursor(row: number, col: number): void {
    this.cursor = { row, col };
    this.placeCursor();
    this.cursorBox.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    this.events.onCell(this.cellAt(row, col));
  }

  /** A self-contained picture of the map with its token labels, for export. */
  toCanvas(): HTMLCanvasElement {
    const input = this.input!;
    const cell = Math.max(this.cell, 14);
    const labels = input.visible.map((i) => input.tokens[i]!.text);
    const font = `12px ${getComputedStyle(document.body).getPropertyValue('--vscode-editor-font-family') || 'monospace'}`;
    const measure = document.createElement('canvas').getContext('2d')!;
    measure.font = font;
    const margin = Math.ceil(Math.max(40, ...labels.map((l) => measure.measureText(l).width))) + 8;
    const size = labels.length * cell;
    const out = h('canvas', {});
    out.width = margin + size + 4;
    out.height = margin + size + 4;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = themeColor('--vscode-editor-background', '#1e1e1e');
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.canvas, margin, margin, size, size);
    ctx.fillStyle = themeColor('--vscode-foreground', '#cccccc');
    ctx.font = font;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    labels.forEach((l, i) => ctx.fillText(l, margin - 4, margin + (i + 0.5) * cell));
    labels.forEach((l, i) => {
      ctx.save();
      ctx.translate(margin + (i + 0.5) * cell, margin - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(l, 0, 0);
      ctx.restore();
    });
    return out;
  }
}

export function tokenLabel(token: ShownToken, index: number, axis: string): HTMLElement {
  const kind = token.special ? ' special' : token.continues ? ' subword' : '';
  return h('div', { class: `token-label ${axis}${kind}`, 'data-index': String(index), title: token.text }, token.text);
}

export function labelIndex(target: EventTarget | null): number | undefined {
  const el = (target as HTMLElement | null)?.closest?.('[data-index]') as HTMLElement | null;
  return el ? Number(el.dataset.index) : undefined;
}

/**
 * Puts a `position: fixed` element below and right of the point, or on the other side where it would leave the view,
 * and always inside it (the sidebar is often narrower than a tooltip).
 */
function placeInView(el: HTMLElement, x: number, y: number): void {
  const { offsetWidth: w, offsetHeight: ht } = el;
  const fit = (at: number, size: number, limit: number): number => {
    const after = at + TOOLTIP_GAP;
    const start = after + size <= limit - VIEW_MARGIN ? after : at - TOOLTIP_GAP - size;
    return Math.max(VIEW_MARGIN, Math.min(start, limit - VIEW_MARGIN - size));
  };
  el.style.left = `${fit(x, w, window.innerWidth)}px`;
  el.style.top = `${fit(y, ht, window.innerHeight)}px`;
}

/** The colour scale with its weights, so a colour can be read as a number. */
function legend(): HTMLElement {
  const steps = 128;
  const bar = h('canvas', { class: 'legend-bar', 'aria-hidden': 'true' });
  bar.width = steps;
  bar.height = 1;
  const pixels = new ImageData(steps, 1);
  for (let i = 0; i < steps; i++) writeWeightColor(pixels.data, i * 4, (i / (steps - 1)) ** 2);
  bar.getContext('2d')!.putImageData(pixels, 0, 0);
  const ticks = LEGEND_TICKS.map((w) => {
    const tick = h('span', { class: 'legend-tick' }, String(w));
    tick.style.left = `${(scalePosition(w) * 100).toFixed(1)}%`;
    return tick;
  });
  return h(
    'div',
    { class: 'heatmap-legend', role: 'img', 'aria-label': `Colour scale: weight 0 (dark purple) to 1 (yellow), square-root spaced; ticks at ${LEGEND_TICKS.join(', ')}` },
    h('span', { class: 'legend-caption' }, 'weight'),
    h('div', { class: 'legend-scale' }, bar, h('div', { class: 'legend-ticks' }, ...ticks)),
  );
}

function clamp(v: number, n: number): number {
  return Math.max(0, Math.min(n - 1, v));
}
