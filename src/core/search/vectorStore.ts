import { TopK, type Scored } from './topK';
import { createKernels, wasm, type Kernels, type WasmMemory } from './vectorKernels';

export interface VectorStoreOptions {
  /** Rows per block (one kernel call, the unit of cooperative yielding). Default 8192. */
  readonly blockRows?: number;
  /**
   * Above this many rows, search scans int8-quantised copies (4× less memory traffic, ~3× faster) and re-scores the
   * best candidates exactly in f32. Default 250 000: on this project's 2-core machines an exact f32 scan takes
   * ~5–10 ms per 100k rows of 384–512 dims, so exact search stays within the 30 ms budget up to about there.
   * `Infinity` keeps search exact; 0 always quantises.
   */
  readonly quantizeAbove?: number;
  /** Use WebAssembly SIMD when available (default true); false forces the JS kernels. */
  readonly simd?: boolean;
}

export interface VectorSearchOptions {
  /** 1 = row may be returned. Rows beyond its length are excluded. */
  readonly mask?: Uint8Array;
  /** Called only for rows good enough to enter the result; false excludes the row. */
  readonly accept?: (row: number) => boolean;
  readonly signal?: AbortSignal;
  /** Longest stretch of synchronous scoring before yielding to the event loop (ms); default 8. */
  readonly sliceMs?: number;
}

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Candidates re-scored exactly after an int8 scan, per wanted result (at least 256). */
const RESCORE_FACTOR = 8;

/**
 * Append-only rows of `dims` float32 values (L2-normalised vectors) in a WebAssembly.Memory, searched exactly by
 * dot product (= cosine similarity) with SIMD kernels. Rows are padded to a multiple of 32 values. Memory grows in
 * blocks and is never copied; the whole store is dropped at once (WebAssembly memory cannot shrink).
 */
export class VectorStore {
  readonly dims: number;
  /** Padded row length in values. */
  readonly stride: number;
  readonly blockRows: number;
  readonly quantizeAbove: number;
  private readonly memory: WasmMemory;
  private readonly kernels: Kernels;
  private readonly queryF32: number;
  private readonly queryI8: number;
  private readonly out: number;
  private readonly f32Blocks: number[] = [];
  private readonly i8Blocks: number[] = [];
  /** Per-row int8 scale (value = int8 · scale), only while quantised. */
  private scales = new Float32Array(0);
  private quantized = false;
  private top: number;
  private rows = 0;
  private f32View: Float32Array;
  private u8View: Uint8Array;

  constructor(dims: number, options: VectorStoreOptions = {}) {
    if (!Number.isInteger(dims) || dims <= 0) throw new Error(`vector dimensions must be a positive integer, not ${dims}`);
    this.dims = dims;
    this.stride = Math.ceil(dims / 32) * 32;
    this.blockRows = options.blockRows ?? 8192;
    this.quantizeAbove = options.quantizeAbove ?? 250_000;
    this.queryF32 = 0;
    this.queryI8 = this.stride * 4;
    this.out = align(this.queryI8 + this.stride, 64);
    this.top = align(this.out + this.blockRows * 4, 64);
    this.memory = new wasm.Memory({ initial: Math.ceil(this.top / PAGE) + 1, maximum: MAX_PAGES });
    this.kernels = createKernels(this.memory, options.simd ?? true);
    this.f32View = new Float32Array(this.memory.buffer);
    this.u8View = new Uint8Array(this.memory.buffer);
  }

  get size(): number {
    return this.rows;
  }

  get simd(): boolean {
    return this.kernels.simd;
  }

  /** Whether searches currently scan int8 copies. */
  get usesQuantization(): boolean {
    return this.quantized;
  }

  /** Bytes of WebAssembly memory held. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Appends `vector` (length ≥ dims; extra values ignored) and returns its row number. */
  add(vector: ArrayLike<number>): number {
    const at = this.nextRowOffset() >>> 2;
    const f = this.view();
    if (vector instanceof Float32Array) f.set(vector.length === this.dims ? vector : vector.subarray(0, this.dims), at);
    else for (let d = 0; d < this.dims; d++) f[at + d] = vector[d]!;
    return this.commitRow();
  }

  /** Appends a vector given as `dims × 4` little-endian float32 bytes (as stored on disk). */
  addBytes(bytes: Uint8Array): number {
    if (bytes.length !== this.dims * 4) throw new Error(`expected ${this.dims * 4} bytes, got ${bytes.length}`);
    const at = this.nextRowOffset(); // may grow (and so replace) the memory's buffer
    this.view();
    this.u8View.set(bytes, at);
    return this.commitRow();
  }

  private nextRowOffset(): number {
    const row = this.rows;
    const block = Math.floor(row / this.blockRows);
    if (block === this.f32Blocks.length) this.f32Blocks.push(this.alloc(this.blockRows * this.stride * 4));
    return this.f32Blocks[block]! + (row % this.blockRows) * this.stride * 4;
  }

  private commitRow(): number {
    const row = this.rows;
    this.rows++;
    if (this.quantized) this.quantizeRow(row);
    else if (this.rows > this.quantizeAbove) this.quantizeAll();
    return row;
  }

  /** A copy of row `row`. */
  get(row: number): Float32Array {
    const at = this.rowOffset(row) >>> 2;
    return this.view().slice(at, at + this.dims);
  }

  /** Exact dot product of row `row` with `query`. */
  dot(row: number, query: ArrayLike<number>): number {
    const at = this.rowOffset(row) >>> 2;
    const f = this.view();
    let s = 0;
    for (let d = 0; d < this.dims; d++) s += f[at + d]! * query[d]!;
    return s;
  }

  /**
   * The `k` rows with the highest dot product with `query`, best first. Scores block by block; yields to the event
   * loop whenever `sliceMs` of scoring has passed, and rejects with an AbortError when `signal` aborts.
   */
  async search(query: ArrayLike<number>, k: number, options: VectorSearchOptions = {}): Promise<Scored[]> {
    options.signal?.throwIfAborted();
    if (k <= 0 || this.rows === 0) return [];
    const quantized = this.quantized;
    const heap = new TopK(quantized ? Math.max(256, k * RESCORE_FACTOR) : k);
    this.writeQuery(query, quantized);
    const sliceMs = options.sliceMs ?? 8;
    let sliceStart = performance.now();
    for (let block = 0; block < this.f32Blocks.length; block++) {
      this.scoreBlock(block, quantized, heap, options);
      if (performance.now() - sliceStart > sliceMs && block + 1 < this.f32Blocks.length) {
        await yieldToEventLoop();
        options.signal?.throwIfAborted();
        // Another search may have used the shared query/output area meanwhile.
        this.writeQuery(query, quantized);
        sliceStart = performance.now();
      }
    }
    const candidates = heap.sorted();
    if (!quantized) return candidates;
    const exact = new TopK(k);
    for (const c of candidates) exact.push(c.doc, this.dot(c.doc, query));
    return exact.sorted();
  }

  /** Synchronous exact search (no yielding); for workers and benchmarks. */
  searchSync(query: ArrayLike<number>, k: number, options: Omit<VectorSearchOptions, 'signal' | 'sliceMs'> = {}): Scored[] {
    if (k <= 0 || this.rows === 0) return [];
    const quantized = this.quantized;
    const heap = new TopK(quantized ? Math.max(256, k * RESCORE_FACTOR) : k);
    this.writeQuery(query, quantized);
    for (let block = 0; block < this.f32Blocks.length; block++) this.scoreBlock(block, quantized, heap, options);
    const candidates = heap.sorted();
    if (!quantized) return candidates;
    const exact = new TopK(k);
    for (const c of candidates) exact.push(c.doc, this.dot(c.doc, query));
    return exact.sorted();
  }

  private scoreBlock(block: number, quantized: boolean, heap: TopK, options: VectorSearchOptions): void {
    const first = block * this.blockRows;
    const count = Math.min(this.blockRows, this.rows - first);
    const { mask, accept } = options;
    if (quantized) this.kernels.dotI8(this.queryI8, this.i8Blocks[block]!, count, this.stride, this.out);
    else this.kernels.dotF32(this.queryF32, this.f32Blocks[block]!, count, this.stride * 4, this.out);
    const buffer = this.memory.buffer;
    const scores = quantized ? new Int32Array(buffer, this.out, count) : new Float32Array(buffer, this.out, count);
    const scales = this.scales;
    let threshold = heap.threshold;
    for (let i = 0; i < count; i++) {
      const row = first + i;
      const s = quantized ? scores[i]! * scales[row]! : scores[i]!;
      if (s <= threshold) continue;
      if (mask && mask[row] !== 1) continue;
      if (accept && !accept(row)) continue;
      heap.push(row, s);
      threshold = heap.threshold;
    }
  }

  private writeQuery(query: ArrayLike<number>, quantized: boolean): void {
    const f = this.view();
    const q0 = this.queryF32 >>> 2;
    for (let d = 0; d < this.stride; d++) f[q0 + d] = d < this.dims ? query[d]! : 0;
    if (quantized) {
      const b = new Int8Array(this.memory.buffer, this.queryI8, this.stride);
      let max = 0;
      for (let d = 0; d < this.dims; d++) max = Math.max(max, Math.abs(query[d]!));
      const scale = max > 0 ? 127 / max : 0;
      for (let d = 0; d < this.stride; d++) b[d] = d < this.dims ? Math.round(query[d]! * scale) : 0;
    }
  }

  private quantizeAll(): void {
    this.quantized = true;
    for (let row = 0; row < this.rows; row++) this.quantizeRow(row);
  }

  /** int8 copy of a row with its own scale: value ≈ int8 · scale, |int8| ≤ 127. */
  private quantizeRow(row: number): void {
    const block = Math.floor(row / this.blockRows);
    while (this.i8Blocks.length <= block) this.i8Blocks.push(this.alloc(this.blockRows * this.stride));
    if (this.scales.length <= row) {
      const scales = new Float32Array(Math.max(row + 1, this.scales.length * 2, 1024));
      scales.set(this.scales);
      this.scales = scales;
    }
    const f = this.view();
    const at = this.rowOffset(row) >>> 2;
    let max = 0;
    for (let d = 0; d < this.dims; d++) max = Math.max(max, Math.abs(f[at + d]!));
    const scale = max > 0 ? max / 127 : 0;
    this.scales[row] = scale;
    const b = new Int8Array(this.memory.buffer, this.i8Blocks[block]! + (row % this.blockRows) * this.stride, this.stride);
    for (let d = 0; d < this.dims; d++) b[d] = scale > 0 ? Math.round(f[at + d]! / scale) : 0;
  }

  private rowOffset(row: number): number {
    if (row < 0 || row >= this.rows) throw new RangeError(`row ${row} out of range (0..${this.rows - 1})`);
    return this.f32Blocks[Math.floor(row / this.blockRows)]! + (row % this.blockRows) * this.stride * 4;
  }

  private view(): Float32Array {
    if (this.f32View.buffer !== this.memory.buffer) {
      this.f32View = new Float32Array(this.memory.buffer);
      this.u8View = new Uint8Array(this.memory.buffer);
    }
    return this.f32View;
  }

  private alloc(bytes: number): number {
    const at = this.top;
    const end = align(at + bytes, 64);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const needed = Math.ceil((end - have) / PAGE);
      const current = have / PAGE;
      const grow = Math.min(MAX_PAGES - current, Math.max(needed, Math.ceil(current / 4)));
      if (grow < needed) throw new Error(`the vector index needs more than 4 GiB of memory (${this.rows} vectors of ${this.dims} dimensions)`);
      this.memory.grow(grow);
    }
    this.top = end;
    return at;
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Lets pending I/O and messages run (setImmediate: after I/O callbacks, without timer clamping). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
