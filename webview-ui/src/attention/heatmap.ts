import type { TokenSpan } from '../../../src/protocol/attention';
import { h, rgbOf, themeColor } from '../shared/host';

export interface HeatmapCell {
  readonly query: number;
  readonly key: number;
  readonly weight: number;
}

/**
 * A query × key heatmap of one attention map on a canvas, with token labels as DOM text, a tooltip on hover and
 * a keyboard cursor (arrow keys, Home/End, PageUp/PageDown) so every cell is reachable without a mouse.
 */
export class Heatmap {
  readonly element: HTMLElement;
  private readonly canvas = h('canvas', { tabindex: '0', role: 'img', class: 'heatmap-canvas' });
  private readonly rowLabels = h('div', { class: 'row-labels', 'aria-hidden': 'true' });
  private readonly colLabels = h('div', { class: 'col-labels', 'aria-hidden': 'true' });
  private readonly tooltip = h('div', { class: 'tooltip', role: 'tooltip', hidden: '' });
  private tokens: readonly TokenSpan[] = [];
  private map: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private cell = 12;
  private cursor: { query: number; key: number } | undefined;
  private lastHover: { query: number; key: number } | undefined;

  constructor(private readonly onCell: (cell: HeatmapCell | undefined) => void) {
    const grid = h('div', { class: 'heatmap-grid' }, h('div', { class: 'corner' }), this.colLabels, this.rowLabels, this.canvas);
    this.element = h('div', { class: 'heatmap' }, grid, this.tooltip);
    this.canvas.addEventListener('mousemove', (e) => this.onPointer(e));
    this.canvas.addEventListener('mouseleave', () => {
      this.tooltip.hidden = true;
      if (!this.cursor) this.onCell(undefined);
    });
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    this.canvas.addEventListener('focus', () => {
      // Keyboard reading starts where the pointer last was, so mouse and keyboard users meet in the same cell.
      if (!this.cursor && this.tokens.length > 0) this.moveCursor(this.lastHover?.query ?? 0, this.lastHover?.key ?? 0);
    });
  }

  /** Shows `map` (row-major n × n, rows = queries) for `tokens`, fitting cells into `width` CSS pixels. */
  render(tokens: readonly TokenSpan[], map: Float32Array<ArrayBufferLike>, width: number): void {
    this.tokens = tokens;
    this.map = map;
    const n = tokens.length;
    const labelWidth = 88;
    this.cell = Math.max(3, Math.min(28, Math.floor((width - labelWidth - 8) / Math.max(1, n))));
    const showLabels = this.cell >= 9;
    this.element.style.setProperty('--cell', `${this.cell}px`);
    this.element.classList.toggle('compact', !showLabels);
    this.rowLabels.replaceChildren(...tokens.map((t, i) => label(t, i, 'row')));
    this.colLabels.replaceChildren(...tokens.map((t, i) => label(t, i, 'col')));
    this.canvas.setAttribute('aria-label', `Attention heatmap, ${n} by ${n} tokens. Use the arrow keys to read weights.`);
    if (this.cursor && (this.cursor.query >= n || this.cursor.key >= n)) this.cursor = undefined;
    if (this.lastHover && (this.lastHover.query >= n || this.lastHover.key >= n)) this.lastHover = undefined;
    this.draw();
    if (this.cursor) this.onCell(this.cellAt(this.cursor.query, this.cursor.key));
  }

  private draw(): void {
    const n = this.tokens.length;
    const ratio = window.devicePixelRatio || 1;
    const size = n * this.cell;
    this.canvas.width = Math.max(1, Math.round(size * ratio));
    this.canvas.height = Math.max(1, Math.round(size * ratio));
    this.canvas.style.width = `${size}px`;
    this.canvas.style.height = `${size}px`;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const [r, g, b] = rgbOf(themeColor('--vscode-charts-blue', '#3794ff'));
    ctx.fillStyle = themeColor('--vscode-editor-background', '#1e1e1e');
    ctx.fillRect(0, 0, size, size);
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        const w = this.map[q * n + k]!;
        if (w <= 0.002) continue;
        ctx.fillStyle = `rgba(${r}, ${g}, ${b}, ${Math.min(1, w).toFixed(3)})`;
        ctx.fillRect(k * this.cell, q * this.cell, this.cell, this.cell);
      }
    }
    if (this.cursor) {
      ctx.strokeStyle = themeColor('--vscode-focusBorder', '#007fd4');
      ctx.lineWidth = 2;
      ctx.strokeRect(this.cursor.key * this.cell + 1, this.cursor.query * this.cell + 1, this.cell - 2, this.cell - 2);
    }
  }

  private cellAt(query: number, key: number): HeatmapCell {
    return { query, key, weight: this.map[query * this.tokens.length + key]! };
  }

  private onPointer(e: MouseEvent): void {
    const rect = this.canvas.getBoundingClientRect();
    const key = Math.floor((e.clientX - rect.left) / this.cell);
    const query = Math.floor((e.clientY - rect.top) / this.cell);
    const n = this.tokens.length;
    if (key < 0 || query < 0 || key >= n || query >= n) return;
    const cell = this.cellAt(query, key);
    this.lastHover = { query, key };
    this.tooltip.textContent = `${this.tokens[query]!.text} → ${this.tokens[key]!.text}: ${cell.weight.toFixed(4)}`;
    this.tooltip.hidden = false;
    const host = this.element.getBoundingClientRect();
    this.tooltip.style.left = `${e.clientX - host.left + 12}px`;
    this.tooltip.style.top = `${e.clientY - host.top + 12}px`;
    this.onCell(cell);
  }

  private onKey(e: KeyboardEvent): void {
    const n = this.tokens.length;
    if (n === 0) return;
    const { query, key } = this.cursor ?? { query: 0, key: 0 };
    const page = Math.max(1, Math.floor(n / 8));
    const moves: Record<string, [number, number]> = {
      ArrowUp: [query - 1, key],
      ArrowDown: [query + 1, key],
      ArrowLeft: [query, key - 1],
      ArrowRight: [query, key + 1],
      Home: [query, 0],
      End: [query, n - 1],
      PageUp: [query - page, key],
      PageDown: [query + page, key],
    };
    const target = moves[e.key];
    if (!target) return;
    e.preventDefault();
    this.moveCursor(clamp(target[0], n), clamp(target[1], n));
  }

  private moveCursor(query: number, key: number): void {
    this.cursor = { query, key };
    this.draw();
    this.onCell(this.cellAt(query, key));
  }
}

function label(token: TokenSpan, index: number, axis: 'row' | 'col'): HTMLElement {
  return h('div', { class: `token-label ${axis}${token.special ? ' special' : ''}`, 'data-index': String(index), title: token.text }, token.text);
}

function clamp(v: number, n: number): number {
  return Math.max(0, Math.min(n - 1, v));
}
