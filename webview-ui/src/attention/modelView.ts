import { h, rgbOf, themeColor } from '../shared/host';

export interface ModelViewInput {
  readonly layers: number;
  readonly heads: number;
  readonly n: number;
  /** `[layer][head][y][x]` bytes: each pixel the largest weight (× 255) of the cells it covers. */
  readonly thumbnails: Uint8Array;
  readonly thumbnailSize: number;
  /** The exact weight, or undefined while that layer is still loading. */
  readonly weightAt: (layer: number, head: number, query: number, key: number) => number | undefined;
  readonly width: number;
}

export interface ModelViewEvents {
  onOpen(layer: number, head: number): void;
  /** The cell under the pointer; `weight` is undefined while its layer loads. */
  onCell(cell: { layer: number; head: number; query: number; key: number; weight: number | undefined } | undefined): void;
}

/**
 * Every layer × head as a small heatmap, drawn from thumbnails the worker prepared (each pixel the largest weight
 * of the cells it covers, so sharp patterns survive the shrinking). Thumbnails are buttons: click or Enter opens
 * that head in the head view.
 */
export class ModelView {
  readonly element = h('div', { class: 'model-view', role: 'grid', 'aria-label': 'All layers and heads' });
  private input: ModelViewInput | undefined;

  constructor(private readonly events: ModelViewEvents) {}

  render(input: ModelViewInput): number {
    const started = performance.now();
    this.input = input;
    const { layers, heads, thumbnailSize: pixels } = input;
    const size = Math.max(24, Math.min(96, Math.floor((input.width - 40) / heads) - 4));
    const [r, g, b] = rgbOf(themeColor('--vscode-charts-blue', '#3794ff'));
    const [br, bg, bb] = rgbOf(themeColor('--vscode-editor-background', '#1e1e1e'));
    const header = h('div', { class: 'model-row header', role: 'row' }, h('div', { class: 'model-label' }), ...Array.from({ length: heads }, (_, head) => h('div', { class: 'model-label', role: 'columnheader' }, `H${head + 1}`)));
    const rows: HTMLElement[] = [header];
    const scratch = new OffscreenCanvas(pixels, pixels);
    const scratchCtx = scratch.getContext('2d')!;
    const image = new ImageData(pixels, pixels);
    for (let layer = 0; layer < layers; layer++) {
      const cells: HTMLElement[] = [h('div', { class: 'model-label', role: 'rowheader' }, `L${layer + 1}`)];
      for (let head = 0; head < heads; head++) {
        const base = (layer * heads + head) * pixels * pixels;
        for (let i = 0; i < pixels * pixels; i++) {
          const a = input.thumbnails[base + i]! / 255;
          image.data[i * 4] = br + (r - br) * a;
          image.data[i * 4 + 1] = bg + (g - bg) * a;
          image.data[i * 4 + 2] = bb + (b - bb) * a;
          image.data[i * 4 + 3] = 255;
        }
        const canvas = h('canvas', { class: 'model-thumb', 'data-layer': String(layer), 'data-head': String(head) });
        canvas.width = size;
        canvas.height = size;
        scratchCtx.putImageData(image, 0, 0);
        const ctx = canvas.getContext('2d')!;
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(scratch, 0, 0, size, size);
        const button = h('button', { type: 'button', class: 'model-cell', role: 'gridcell', 'aria-label': `Layer ${layer + 1}, head ${head + 1}: open in the head view`, title: `Layer ${layer + 1}, head ${head + 1}` }, canvas);
        button.addEventListener('click', () => this.events.onOpen(layer, head));
        canvas.addEventListener('mousemove', (e) => this.onPointer(e, canvas, layer, head));
        canvas.addEventListener('mouseleave', () => this.events.onCell(undefined));
        cells.push(button);
      }
      rows.push(h('div', { class: 'model-row', role: 'row' }, ...cells));
    }
    this.element.replaceChildren(...rows);
    return performance.now() - started;
  }

  private onPointer(e: MouseEvent, canvas: HTMLCanvasElement, layer: number, head: number): void {
    const input = this.input;
    if (!input) return;
    const rect = canvas.getBoundingClientRect();
    const key = Math.min(input.n - 1, Math.floor(((e.clientX - rect.left) / rect.width) * input.n));
    const query = Math.min(input.n - 1, Math.floor(((e.clientY - rect.top) / rect.height) * input.n));
    if (key < 0 || query < 0) return;
    this.events.onCell({ layer, head, query, key, weight: input.weightAt(layer, head, query, key) });
  }

  /** The whole grid as one picture, for export. */
  toCanvas(): HTMLCanvasElement {
    const thumbs = [...this.element.querySelectorAll<HTMLCanvasElement>('canvas.model-thumb')];
    const input = this.input!;
    const size = thumbs[0]?.width ?? 24;
    const gap = 4;
    const margin = 28;
    const out = h('canvas', {});
    out.width = margin + input.heads * (size + gap);
    out.height = margin + input.layers * (size + gap);
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = themeColor('--vscode-editor-background', '#1e1e1e');
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = themeColor('--vscode-foreground', '#cccccc');
    ctx.font = '11px sans-serif';
    for (const t of thumbs) {
      const layer = Number(t.dataset.layer);
      const head = Number(t.dataset.head);
      ctx.drawImage(t, margin + head * (size + gap), margin + layer * (size + gap));
    }
    for (let l = 0; l < input.layers; l++) ctx.fillText(`L${l + 1}`, 2, margin + l * (size + gap) + size / 2);
    for (let hd = 0; hd < input.heads; hd++) ctx.fillText(`H${hd + 1}`, margin + hd * (size + gap) + 2, 16);
    return out;
  }
}
