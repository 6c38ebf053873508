// Semantic search benchmark: query latency (vector, lexical, hybrid) over 10k and 100k stored chunks with synthetic
// 384- and 512-d vectors, index write and open times, and the raw scan kernels (exact f32 vs int8) at larger sizes.
//
//   node esbuild.js && node out/bench/search.js [--sizes 10000,100000] [--dims 384,512] [--queries 200] [--scan 100000,400000,1000000]
//
// Query latency is end to end through SemanticIndex.search (BM25, vector scan, fusion, reading the k result texts
// from disk, match explanations) with an instant synthetic query embedder, so it excludes model inference.
// The last section indexes TypeScript's lib/*.d.ts from disk with an instant stand-in for the model worker, to show
// the host-side cost of indexing (reading, chunking, hashing, BM25, writing) and the event-loop delay it causes.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MemoryFileSource } from '../../src/core/search/memoryFileSource';
import { NodeFileSource } from '../../src/core/search/nodeFileSource';
import { runUpdate, SemanticIndex } from '../../src/core/search/semanticIndex';
import type { Embedder, SearchMode } from '../../src/core/search/types';
import { VectorStore } from '../../src/core/search/vectorStore';
import { seededRandom } from '../harness/searchFakes';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const sizes = arg('sizes', '10000,100000').split(',').map(Number);
const dimsList = arg('dims', '384,512').split(',').map(Number);
const queryCount = Number(arg('queries', '200'));
const scanSizes = arg('scan', '100000,400000,1000000').split(',').map(Number).filter((n) => n > 0);

const percentile = (values: number[], p: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)} ms`;

/** Random unit vectors derived from the text's hash: instant, deterministic, spread over the sphere. */
class SyntheticEmbedder implements Embedder {
  readonly modelKey: string;
  readonly maxTokens: number = 512;
  constructor(readonly dims: number) {
    this.modelKey = `synthetic-${dims}`;
  }
  async embed(texts: readonly string[]): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dims);
    texts.forEach((t, i) => {
      const rand = seededRandom(createHash('sha256').update(t).digest().readUInt32LE(0));
      let n = 0;
      for (let d = 0; d < this.dims; d++) {
        const x = rand() * 2 - 1;
        out[i * this.dims + d] = x;
        n += x * x;
      }
      const s = 1 / Math.sqrt(n);
      for (let d = 0; d < this.dims; d++) out[i * this.dims + d]! *= s;
    });
    return out;
  }
}

/** A Zipf-like vocabulary: a few very common words, a long tail of rare ones. */
function vocabulary(): string[] {
  const common = 'the of and to in is for that with on as by this are be from at or an it which can not we data file index search vector model token text'.split(' ');
  const rand = seededRandom(99);
  const tail = Array.from({ length: 20000 }, () => Array.from({ length: 4 + Math.floor(rand() * 6) }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join(''));
  return [...common, ...tail];
}

function zipfPicker(words: string[], rand: () => number): () => string {
  return () => words[Math.min(words.length - 1, Math.floor(Math.pow(rand(), 3) * words.length))]!;
}

/** `chunks` paragraphs of ~50 words in files of 20 paragraphs: each paragraph becomes one chunk. */
function corpus(chunks: number): MemoryFileSource {
  const words = vocabulary();
  const rand = seededRandom(chunks);
  const pick = zipfPicker(words, rand);
  const source = new MemoryFileSource();
  const perFile = 20;
  for (let f = 0; f * perFile < chunks; f++) {
    const paragraphs: string[] = [];
    for (let p = 0; p < perFile && f * perFile + p < chunks; p++) {
      paragraphs.push(`${Array.from({ length: 50 }, pick).join(' ')} p${f}x${p}.`);
    }
    source.set(`dir${f % 100}/file${f}.txt`, paragraphs.join('\n\n'));
  }
  return source;
}

async function benchIndex(size: number, dims: number): Promise<void> {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-bench-search-'));
  try {
    const source = corpus(size);
    const embedder = new SyntheticEmbedder(dims);
    const opts = { storeDir: store, embedder, chunker: { targetTokens: 120, minTokens: 0 }, batchSize: 256, commitEveryChunks: 8192 };
    let index = await SemanticIndex.open(opts);
    let t = performance.now();
    const summary = await runUpdate(index.update(source));
    const writeMs = performance.now() - t;
    const stats = index.stats();
    await index.close();
    const bytes = fs.readdirSync(index.storePath).reduce((n, f) => n + fs.statSync(path.join(index.storePath, f)).size, 0);
    t = performance.now();
    index = await SemanticIndex.open(opts);
    const openMs = performance.now() - t;
    if (index.stats().chunks !== summary.chunksEmbedded) throw new Error('reopened index differs');

    const words = vocabulary();
    const rand = seededRandom(7);
    const pick = zipfPicker(words, rand);
    const queries = Array.from({ length: queryCount }, () => Array.from({ length: 2 + Math.floor(rand() * 5) }, pick).join(' '));
    const line = [`${String(size).padStart(7)} chunks × ${dims}d`, `write ${(writeMs / 1000).toFixed(1)} s (${Math.round(size / (writeMs / 1000))} chunks/s)`, `open ${ms(openMs)}`, `disk ${(bytes / 2 ** 20).toFixed(0)} MiB`, `vectors ${(stats.vectorMemoryBytes / 2 ** 20).toFixed(0)} MiB${stats.simd ? ' (SIMD)' : ' (JS)'}${stats.quantized ? ' int8' : ''}`];
    console.log(line.join(' · '));
    for (const mode of ['vector', 'lexical', 'hybrid'] as SearchMode[]) {
      for (const q of queries.slice(0, 10)) await index.search(q, { mode, k: 10 });
      const times: number[] = [];
      const lag = monitorEventLoopDelay({ resolution: 1 });
      lag.enable();
      for (const q of queries) {
        const s = performance.now();
        await index.search(q, { mode, k: 10 });
        times.push(performance.now() - s);
      }
      lag.disable();
      console.log(`    ${mode.padEnd(7)} p50 ${ms(percentile(times, 50)).padStart(9)}  p95 ${ms(percentile(times, 95)).padStart(9)}  max ${ms(Math.max(...times)).padStart(9)}  · event-loop delay during queries p99 ${ms(lag.percentile(99) / 1e6)}`);
    }
    await index.close();
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
}

/** The raw scan: exact f32 SIMD vs int8 + re-scoring, top-100 of n random rows. */
function benchScan(n: number, dims: number): void {
  const rand = seededRandom(n + dims);
  const exact = new VectorStore(dims, { quantizeAbove: Infinity });
  const row = new Float32Array(dims);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dims; d++) row[d] = rand() * 2 - 1;
    exact.add(row);
  }
  const query = Array.from({ length: dims }, () => rand() * 2 - 1);
  const time = (store: VectorStore): number[] => {
    const times: number[] = [];
    for (let i = 0; i < 25; i++) {
      const s = performance.now();
      store.searchSync(query, 100);
      times.push(performance.now() - s);
    }
    return times;
  };
  const f32 = time(exact);
  const quantized = new VectorStore(dims, { quantizeAbove: 0 });
  for (let i = 0; i < n; i++) quantized.add(exact.get(i));
  const i8 = time(quantized);
  const truth = new Set(exact.searchSync(query, 10).map((s) => s.doc));
  const recall = quantized.searchSync(query, 10).filter((s) => truth.has(s.doc)).length;
  console.log(`  ${String(n).padStart(8)} × ${dims}d   exact f32 p50 ${ms(percentile(f32, 50)).padStart(9)} p95 ${ms(percentile(f32, 95)).padStart(9)}   int8+rescore p50 ${ms(percentile(i8, 50)).padStart(9)} p95 ${ms(percentile(i8, 95)).padStart(9)} (top-10 recall ${recall}/10)   ${((exact.bytes + quantized.bytes) / 2 ** 20).toFixed(0)} MiB`);
}

/** Answers like the model worker would (asynchronously, off this thread), but instantly. */
class InstantWorkerStandIn extends SyntheticEmbedder {
  constructor(
    dims: number,
    override readonly maxTokens: number,
  ) {
    super(dims);
  }
  override async embed(texts: readonly string[]): Promise<Float32Array> {
    await new Promise((r) => setImmediate(r));
    return super.embed(texts);
  }
}

async function benchHostIndexing(maxTokens: number): Promise<void> {
  const lib = path.join(__dirname, '..', '..', 'node_modules', 'typescript', 'lib');
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-bench-host-'));
  try {
    const index = await SemanticIndex.open({ storeDir: store, embedder: new InstantWorkerStandIn(384, maxTokens), maxFileBytes: 4 * 2 ** 20 });
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const t = performance.now();
    const summary = await runUpdate(index.update(new NodeFileSource(lib, { excludeGlobs: [], gitignore: false, maxFileBytes: 4 * 2 ** 20 })));
    const seconds = (performance.now() - t) / 1000;
    lag.disable();
    console.log(
      `  maxTokens ${String(maxTokens).padStart(3)}: ${summary.filesIndexed} files, ${summary.chunksEmbedded} chunks in ${seconds.toFixed(1)} s (${Math.round(summary.chunksEmbedded / seconds)} chunks/s host-bound) · event-loop delay p99 ${ms(lag.percentile(99) / 1e6)}, max ${ms(lag.max / 1e6)}`,
    );
    await index.close();
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`search benchmark · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}\n`);
  console.log('Index through SemanticIndex (synthetic vectors, ~50-word paragraphs, one chunk each), k = 10:');
  for (const dims of dimsList) for (const size of sizes) await benchIndex(size, dims);
  console.log('\nHost-side indexing of node_modules/typescript/lib/*.d.ts (instant stand-in for the model worker):');
  for (const maxTokens of [128, 512]) await benchHostIndexing(maxTokens);
  if (scanSizes.length > 0) {
    console.log('\nVector scan alone (VectorStore.searchSync, top 100):');
    for (const dims of dimsList) for (const n of scanSizes) benchScan(n, dims);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
