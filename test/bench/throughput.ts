// Indexing throughput, side by side: the same passages of a real corpus (TypeScript's lib.*.d.ts from
// node_modules/typescript, installed by npm) cut by BERT Lens's chunker, through several pipelines, each in a worker
// thread, interleaved over several rounds in one process:
//   peer (+10 ms)   transformers.js pipeline('feature-extraction'), one passage per call, mean pooling, normalise,
//                   a 10 ms pause between calls (Continue's indexer); and the same without the pause
//   before          BERT Lens's embedder as the indexer calls it (32 texts a call), batches of 16 by count
//   after           the same with token-budget runs (the default), onnxruntime threads = cores − 1
//   after, N thr.   the same with one onnxruntime thread per core
//   raw             onnxruntime-node alone on the same token ids, length-sorted batches of 16 over all passages
// It prints passages/s, source tokens/s, padded tokens (padding overhead), peak RSS of the process while the
// pipeline runs (the other pipelines' workers are stopped), the smallest cosine to the first pipeline's vectors, and
// the ratios of medians. The bundled encoder has no transformers.js model, so no peer row for it.
//
//   node esbuild.js && node out/bench/throughput.js [--models minilm,minilm-q8,use] [--passages 256] [--rounds 3]
//     [--budgets 512,1024]   also the default batching with other padded-token budgets
//     [--padding]            only the padding overhead for several budgets and call sizes
//
// The MiniLM-size random BERT (6 layers, 12 heads, hidden 384) is generated into .cache/minilm on first run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { chunkDocument } from '../../src/core/search/chunker';
import { modelInput, storedPassage } from '../../src/core/search/passageText';
import { fitChunks } from '../../src/core/search/tokenFit';
import { WorkerEmbedder } from '../../src/core/search/workerEmbedder';
import { SentencePieceTokenizer } from '../../src/core/text/sentencePiece';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import type { LocalModel } from '../../src/protocol/worker';
import { intraOpThreads } from '../../src/worker/runtime';
import { DEFAULT_TOKEN_BUDGET, normalise, paddedTokens } from '../../src/worker/tokenBudget';
import { defaultUseAssetsDir, readUseAssets } from '../../src/worker/use/useAssets';
import { buildUseOnnxModel } from '../../src/worker/use/useOnnxGraph';
import { ensureMiniLm, percentile } from '../harness/bench';
import { repoRoot, workerScript } from '../harness/paths';
import { rowCosine } from '../harness/reference';

/** Texts per embed call, as SemanticIndex sends them (its default batchSize). */
const INDEXER_CALL = 32;
const RAW_BATCH = 16;
const PEER_PAUSE_MS = 10;

interface ModelChoice {
  readonly name: string;
  readonly local: LocalModel;
  readonly bundled: boolean;
}

/** What a bench worker thread is asked to run. */
interface ThreadJob {
  readonly kind: 'peer' | 'raw';
  readonly model: ModelChoice;
  readonly texts: readonly string[];
  readonly ids: readonly (readonly number[])[];
  readonly pauseMs: number;
  /** onnxruntime intra-op threads for the raw session; 0: onnxruntime's default. */
  readonly threads: number;
}

interface Timed {
  readonly ms: number;
  readonly vectors: Float32Array;
}

// ───────────────────────────── worker threads: the peer and the raw runtime ─────────────────────────────

async function peerPipeline(job: ThreadJob): Promise<() => Promise<Float32Array>> {
  const { pipeline, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = '';
  const extractor = await pipeline('feature-extraction', job.model.local.dir, { dtype: job.model.local.dtype === 'q8' ? 'q8' : 'fp32' });
  return async () => {
    const parts: Float32Array[] = [];
    for (const text of job.texts) {
      const out = await extractor(text, { pooling: 'mean', normalize: true });
      parts.push((out.data as Float32Array).slice());
      if (job.pauseMs > 0) await new Promise((r) => setTimeout(r, job.pauseMs));
    }
    return concat(parts);
  };
}

async function rawPipeline(job: ThreadJob): Promise<() => Promise<Float32Array>> {
  const ort = await import('../../src/worker/runtime');
  const bundled = job.model.bundled;
  const bytes = bundled
    ? buildUseOnnxModel((await readUseAssets(defaultUseAssetsDir())).weights, { attentionOutputs: false }).bytes
    : fs.readFileSync(path.join(job.model.local.dir, 'onnx', job.model.local.dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx'));
  const session = await ort.InferenceSession.create(bytes, job.threads > 0 ? { intraOpNumThreads: job.threads } : {});
  const order = job.ids.map((_, i) => i).sort((a, b) => job.ids[a]!.length - job.ids[b]!.length);
  return async () => {
    let dims = 0;
    let vectors = new Float32Array(0);
    for (let start = 0; start < order.length; start += RAW_BATCH) {
      const batch = order.slice(start, start + RAW_BATCH);
      const rows = batch.length;
      const cols = Math.max(1, ...batch.map((i) => job.ids[i]!.length));
      const ids = bundled ? new Int32Array(rows * cols) : new BigInt64Array(rows * cols);
      const mask = bundled ? new Float32Array(rows * cols) : new BigInt64Array(rows * cols);
      batch.forEach((i, r) => job.ids[i]!.forEach((id, c) => {
        if (bundled) {
          ids[r * cols + c] = id;
          mask[r * cols + c] = 1;
        } else {
          ids[r * cols + c] = BigInt(id);
          mask[r * cols + c] = 1n;
        }
      }));
      const shape = [rows, cols];
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = bundled
        ? { ids: new ort.Tensor('int32', ids as Int32Array, shape), mask: new ort.Tensor('float32', mask as Float32Array, shape) }
        : {
            input_ids: new ort.Tensor('int64', ids as BigInt64Array, shape),
            attention_mask: new ort.Tensor('int64', mask as BigInt64Array, shape),
            token_type_ids: new ort.Tensor('int64', new BigInt64Array(rows * cols), shape),
          };
      const out = await session.run(feeds);
      const output = out[bundled ? 'embedding' : 'last_hidden_state']!;
      const data = output.data as Float32Array;
      dims = output.dims.at(-1)!;
      if (vectors.length === 0) vectors = new Float32Array(job.ids.length * dims);
      batch.forEach((i, r) => {
        const target = vectors.subarray(i * dims, (i + 1) * dims);
        if (bundled) return target.set(data.subarray(r * dims, (r + 1) * dims));
        for (let t = 0; t < job.ids[i]!.length; t++) {
          const row = data.subarray((r * cols + t) * dims, (r * cols + t + 1) * dims);
          for (let d = 0; d < dims; d++) target[d]! += row[d]!;
        }
        normalise(target);
      });
    }
    return vectors;
  };
}

async function benchThread(job: ThreadJob): Promise<void> {
  const run = job.kind === 'peer' ? await peerPipeline(job) : await rawPipeline(job);
  parentPort!.postMessage({ ready: true });
  parentPort!.once('message', async () => {
    const t = performance.now();
    const vectors = await run();
    parentPort!.postMessage({ ms: performance.now() - t, vectors });
  });
}

// ───────────────────────────── main thread ─────────────────────────────

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** Peak RSS of this process (main thread + live worker threads) while `work` runs, sampled every 20 ms. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakRss: number }> {
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);
  try {
    const result = await work();
    return { result, peakRss: Math.max(peakRss, process.memoryUsage.rss()) };
  } finally {
    clearInterval(sampler);
  }
}

async function inThread(job: ThreadJob): Promise<Timed & { peakRss: number }> {
  const worker = new Worker(__filename, { workerData: job, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    const { result, peakRss } = await withPeakRss(
      () =>
        new Promise<Timed>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.postMessage('go');
        }),
    );
    return { ...result, peakRss };
  } finally {
    await worker.terminate();
  }
}

/** BERT Lens's embedder in its model worker, called 32 texts at a time as SemanticIndex calls it. */
async function viaEmbedder(model: ModelChoice, texts: readonly string[], env: Record<string, string>): Promise<Timed & { peakRss: number }> {
  const client = new ModelWorkerClient({ workerScript, env });
  try {
    const embedder = await WorkerEmbedder.create(client, model.local);
    await embedder.embed(['warm-up']);
    const { result, peakRss } = await withPeakRss(async () => {
      const t = performance.now();
      const parts: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += INDEXER_CALL) parts.push(await embedder.embed(texts.slice(i, i + INDEXER_CALL)));
      return { ms: performance.now() - t, vectors: concat(parts) };
    });
    return { ...result, peakRss };
  } finally {
    await client.dispose();
  }
}

/**
 * Passages: blocks of 32 consecutive chunks spread over the corpus, in indexing order, each with its token ids. Like
 * the index, a passage the model's tokenizer finds over the limit is split until it fits (tokenFit.ts), so none is cut.
 */
async function corpus(model: ModelChoice, maxTokens: number, count: number): Promise<{ texts: string[]; ids: number[][]; chunks: number; files: number }> {
  const lib = path.join(repoRoot, 'node_modules', 'typescript', 'lib');
  const files = fs.readdirSync(lib).filter((f) => /^lib\..*\.d\.ts$/.test(f)).sort();
  const all = files.flatMap((f) => {
    const text = fs.readFileSync(path.join(lib, f), 'utf8');
    return chunkDocument({ uri: `file://${path.join(lib, f)}`, relPath: f, text }, { maxTokens }).map((chunk) => ({ chunk, text }));
  });
  const blocks = Math.max(1, Math.ceil(count / INDEXER_CALL));
  const stride = Math.floor(all.length / blocks);
  const picked = Array.from({ length: blocks }, (_, b) => all.slice(b * stride, b * stride + INDEXER_CALL)).flat();
  let encode: (text: string) => number[];
  if (model.bundled) {
    const tokenizer = new SentencePieceTokenizer((await readUseAssets(defaultUseAssetsDir())).vocabulary);
    encode = (text) => tokenizer.encode(text).map((p) => p.id);
  } else {
    const { AutoTokenizer } = await import('@huggingface/transformers');
    const tokenizer = await AutoTokenizer.from_pretrained(model.local.dir);
    encode = (text) => tokenizer.encode(text);
  }
  const count1 = async (texts: readonly string[]): Promise<number[]> => texts.map((t) => encode(t).length);
  const texts: string[] = [];
  // What the index sends the model: the passage under its context line, comment decoration left out.
  for (const { chunk, text } of picked) texts.push(...(await fitChunks(text, [chunk], maxTokens, count1)).chunks.map((c) => modelInput(storedPassage(c.context, c.text))));
  const used = texts.slice(0, count);
  return { texts: used, ids: used.map(encode), chunks: all.length, files: files.length };
}

/**
 * Token ids as the model sees them, at most `maxTokens`: the bundled encoder keeps the first ones, BERT Lens keeps the
 * final [SEP] of a BERT passage that is too long (the chunker estimates tokens, see the "over the limit" count).
 */
function modelIds(model: ModelChoice, ids: number[][], maxTokens: number): number[][] {
  return ids.map((r) => (r.length <= maxTokens ? r : model.bundled ? r.slice(0, maxTokens) : [...r.slice(0, maxTokens - 1), r.at(-1)!]));
}

function modelChoice(name: string): ModelChoice {
  if (name === 'use') return { name: 'bundled:use-lite', local: { ref: 'bundled:use-lite', dir: '', dtype: 'fp32' }, bundled: true };
  const dtype = name === 'minilm-q8' ? 'q8' : 'fp32';
  return { name: `MiniLM-size random BERT, ${dtype}`, local: { ref: 'minilm-random', dir: ensureMiniLm(), dtype }, bundled: false };
}

interface Row {
  readonly label: string;
  readonly run: () => Promise<Timed & { peakRss: number }>;
  readonly padded: number;
  readonly ms: number[];
  peakRss: number;
  minCosine: number;
}

const MiB = 2 ** 20;

async function benchModel(name: string, passages: number, rounds: number, budgets: readonly number[]): Promise<string[]> {
  const model = modelChoice(name);
  const client = new ModelWorkerClient({ workerScript });
  const maxTokens = (await WorkerEmbedder.create(client, model.local)).maxTokens;
  await client.dispose();
  const { texts, ids: sourceIds, chunks, files } = await corpus(model, maxTokens, passages);
  const over = sourceIds.filter((r) => r.length > maxTokens).length;
  const ids = modelIds(model, sourceIds, maxTokens);
  const lengths = ids.map((r) => r.length);
  const tokens = lengths.reduce((n, l) => n + l, 0);
  const budget = model.bundled ? 256 : DEFAULT_TOKEN_BUDGET.budget;
  const perCall = (options: typeof DEFAULT_TOKEN_BUDGET): number => {
    let n = 0;
    for (let i = 0; i < lengths.length; i += INDEXER_CALL) n += paddedTokens(lengths.slice(i, i + INDEXER_CALL), options);
    return n;
  };
  if (process.argv.includes('--padding')) return paddingGrid(model.name, lengths, tokens);
  const rawPadded = paddedTokens(lengths, { budget: Infinity, maxRows: RAW_BATCH, window: Infinity });
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const job = (kind: ThreadJob['kind'], pauseMs = 0, threads = 0): ThreadJob => ({ kind, model, texts, ids, pauseMs, threads });
  const row = (label: string, padded: number, run: Row['run']): Row => ({ label, padded, run, ms: [], peakRss: 0, minCosine: 1 });
  const rows: Row[] = [
    ...(model.bundled
      ? []
      : [
          row(`peer: transformers.js, 1 passage/call, ${PEER_PAUSE_MS} ms pause`, tokens, () => inThread(job('peer', PEER_PAUSE_MS))),
          row('peer: transformers.js, 1 passage/call, no pause', tokens, () => inThread(job('peer'))),
        ]),
    row('BERT Lens before: batches of 16 by count', perCall({ budget: Infinity, maxRows: 16, window: Infinity }), () =>
      viaEmbedder(model, texts, { BERT_LENS_EMBED_BATCHES: 'count', BERT_LENS_ORT_THREADS: String(cores) }),
    ),
    row(`BERT Lens after: token budget ${budget}, ${intraOpThreads()} thread(s)`, perCall({ ...DEFAULT_TOKEN_BUDGET, budget }), () => viaEmbedder(model, texts, {})),
    ...budgets.map((other) =>
      row(`BERT Lens after, budget ${other}`, perCall({ ...DEFAULT_TOKEN_BUDGET, budget: other }), () => viaEmbedder(model, texts, { BERT_LENS_EMBED_BATCHES: String(other) })),
    ),
    row(`BERT Lens after, ${cores} threads`, perCall({ ...DEFAULT_TOKEN_BUDGET, budget }), () => viaEmbedder(model, texts, { BERT_LENS_ORT_THREADS: String(cores) })),
    row(`raw onnxruntime-node, sorted batches of ${RAW_BATCH}`, rawPadded, () => inThread(job('raw'))),
    row(`raw onnxruntime-node, sorted batches of ${RAW_BATCH}, ${intraOpThreads()} thread(s) as BERT Lens`, rawPadded, () => inThread(job('raw', 0, intraOpThreads()))),
  ];
  let reference: Float32Array | undefined;
  for (let round = 0; round < rounds; round++) {
    for (const r of round % 2 === 0 ? rows : [...rows].reverse()) {
      const { ms, vectors, peakRss } = await r.run();
      r.ms.push(ms);
      r.peakRss = Math.max(r.peakRss, peakRss);
      reference ??= vectors;
      const dims = vectors.length / texts.length;
      for (let i = 0; i < texts.length; i++) r.minCosine = Math.min(r.minCosine, rowCosine(vectors, i, reference, i, dims));
      console.log(`  round ${round + 1}: ${r.label}: ${((texts.length / ms) * 1000).toFixed(1)} passages/s`);
    }
  }
  const median = (r: Row): number => percentile(r.ms, 50);
  const tokensPerS = (r: Row): number => (tokens / median(r)) * 1000;
  const lines = [
    `\n${model.name}: ${texts.length} passages (of ${chunks} chunks in ${files} lib.*.d.ts files, chunker maxTokens ${maxTokens}), ` +
      `${tokens} source tokens, ${Math.round(tokens / texts.length)} per passage; ${over} over the limit; medians of ${rounds} rounds`,
    '| pipeline | passages/s | source tokens/s | padded tokens | padding | peak RSS | min cosine |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${((texts.length / median(r)) * 1000).toFixed(1)} | ${tokensPerS(r).toFixed(0)} | ${r.padded} | +${((r.padded / tokens - 1) * 100).toFixed(1)}% | ${Math.round(r.peakRss / MiB)} MiB | ${r.minCosine.toFixed(5)} |`,
    ),
  ];
  const after = rows.find((r) => r.label.startsWith('BERT Lens after: '))!;
  const ratio = (prefix: string): string => {
    const other = rows.find((r) => r.label.startsWith(prefix));
    return other ? `${(tokensPerS(after) / tokensPerS(other)).toFixed(2)}×` : 'n/a';
  };
  lines.push(
    `BERT Lens after / peer with pause ${ratio('peer: transformers.js, 1 passage/call, 1')} · / peer without pause ${ratio('peer: transformers.js, 1 passage/call, no')} · ` +
      `/ raw ${ratio('raw')} · / raw with BERT Lens's threads ${ratio(`raw onnxruntime-node, sorted batches of ${RAW_BATCH}, `)} · / before ${ratio('BERT Lens before')} (source tokens/s, medians)`,
  );
  return lines;
}

/** Padding overhead of token-budget runs for several budgets and call sizes (texts per embed call). */
function paddingGrid(name: string, lengths: readonly number[], tokens: number): string[] {
  const calls = [32, 64, 128, 256];
  const lines = [`\n${name}: padding overhead by budget (rows) and texts per embed call (columns)`, `| budget | ${calls.join(' | ')} |`, `|---|${calls.map(() => '---|').join('')}`];
  for (const budget of [256, 512, 1024, 2048, 4096]) {
    const cells = calls.map((call) => {
      let padded = 0;
      for (let i = 0; i < lengths.length; i += call) padded += paddedTokens(lengths.slice(i, i + call), { ...DEFAULT_TOKEN_BUDGET, budget });
      return `+${((padded / tokens - 1) * 100).toFixed(1)}%`;
    });
    lines.push(`| ${budget} | ${cells.join(' | ')} |`);
  }
  return lines;
}

async function main(): Promise<void> {
  const names = arg('models', 'minilm,minilm-q8,use').split(',');
  const passages = Number(arg('passages', '256'));
  const rounds = Number(arg('rounds', '3'));
  const budgets = arg('budgets', '').split(',').filter(Boolean).map(Number);
  console.log(`throughput benchmark · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'} · load ${os.loadavg()[0]!.toFixed(1)}`);
  const report: string[] = [];
  for (const name of names) report.push(...(await benchModel(name, passages, rounds, budgets)));
  console.log(report.join('\n'));
  console.log(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

if (isMainThread) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
} else {
  void benchThread(workerData as ThreadJob);
}
