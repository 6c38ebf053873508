/**
 * Benchmark of the bundled Universal Sentence Encoder lite: the published TF.js graph on tfjs-backend-wasm (the
 * baseline) against the ONNX re-expression on onnxruntime-node (what BERT Lens runs), in one process, on the
 * same tokens. Built and started by scripts/bench-use.mjs; see there for options.
 *
 * Configurations are timed round-robin (one timed run of each per round, `runs` rounds, after a warm-up), so a
 * noisy neighbour on a shared host slows every configuration alike; each figure is the median over rounds.
 */
import { spawnSync } from 'node:child_process';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { defaultUseAssetsDir } from '../../src/worker/use/useAssets';
import { UseEncoder, type UseEncoderOptions } from '../../src/worker/use/useEncoder';
import { UseTfjsReference } from '../../src/worker/use/useTfjsReference';
import { DEFAULT_TOKEN_BUDGET } from '../../src/worker/tokenBudget';
import { passages, shortSentences } from './benchTexts';

interface Options {
  readonly runs: number;
  readonly passages: number;
  readonly short: number;
  readonly only?: 'tfjs' | 'onnx';
  readonly quick: boolean;
}

type InputSet = 'short' | 'passages';
/** Embeds one input set once; resolves to the milliseconds it took. */
type TimedRun = (set: InputSet) => Promise<number>;

interface Config {
  readonly name: string;
  readonly run?: TimedRun;
  /** Shown instead of figures, for a configuration that cannot run. */
  readonly note?: string;
  readonly ms: Record<InputSet, number[]>;
}

const BATCH = 32;
const DIMS = 512;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const rss = (): number => process.memoryUsage().rss;
const log = (line: string): void => void process.stdout.write(`${line}\n`);

function parseArgs(argv: readonly string[]): Options {
  const value = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const only = argv.includes('--only') ? (argv[argv.indexOf('--only') + 1] as 'tfjs' | 'onnx') : undefined;
  const quick = argv.includes('--quick');
  return { runs: value('runs', quick ? 1 : 7), passages: value('passages', quick ? 32 : 128), short: value('short', quick ? 64 : 512), only, quick };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function minCosine(a: Float32Array, b: Float32Array): number {
  let worst = 1;
  for (let i = 0; i < a.length / DIMS; i++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let d = i * DIMS; d < (i + 1) * DIMS; d++) {
      dot += a[d]! * b[d]!;
      na += a[d]! * a[d]!;
      nb += b[d]! * b[d]!;
    }
    worst = Math.min(worst, dot / Math.sqrt(na * nb));
  }
  return worst;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** The straightforward TF.js run: batches of 32 in input order. */
async function tfjsInOrder(ref: UseTfjsReference, texts: readonly string[], tokenize: (t: string) => number[]): Promise<Float32Array> {
  const out = new Float32Array(texts.length * DIMS);
  for (let s = 0; s < texts.length; s += BATCH) out.set(await ref.embedIds(texts.slice(s, s + BATCH).map(tokenize)), s * DIMS);
  return out;
}

/** TF.js with batches of similar length (less padding). */
async function tfjsByLength(ref: UseTfjsReference, texts: readonly string[], tokenize: (t: string) => number[]): Promise<Float32Array> {
  const ids = texts.map(tokenize);
  const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length);
  const out = new Float32Array(texts.length * DIMS);
  for (let s = 0; s < order.length; s += BATCH) {
    const batch = order.slice(s, s + BATCH);
    const v = await ref.embedIds(batch.map((i) => ids[i]!));
    batch.forEach((textIndex, r) => out.set(v.subarray(r * DIMS, (r + 1) * DIMS), textIndex * DIMS));
  }
  return out;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const dir = defaultUseAssetsDir();
  const inputs: Record<InputSet, string[]> = { short: shortSentences(options.short), passages: passages(options.passages) };
  const rssAt: [string, number][] = [['start', rss()]];
  const configs: Config[] = [];
  const add = (name: string, run?: TimedRun, note?: string): void => void configs.push({ name, run, note, ms: { short: [], passages: [] } });

  log(`Universal Sentence Encoder lite from ${dir}`);
  log(`inputs: ${inputs.short.length} short sentences, ${inputs.passages.length} passages of 70 words; TF.js batch ${BATCH}`);
  log(`texts/s = median (and best) over ${options.runs} round-robin rounds, one run of every configuration per round, after a warm-up`);

  // The shipped path first: its tokenizer is also the baseline's, so the same ids go into both.
  let started = performance.now();
  const shipped = await UseEncoder.load(dir);
  const onnxLoadMs = performance.now() - started;
  rssAt.push(['after onnxruntime load', rss()]);
  const tokenize = (t: string): number[] => shipped.encodeIds(t);
  const mean = (xs: number[]): string => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1);
  const passageTokens = inputs.passages.map((t) => tokenize(t).length);
  log(`tokens per passage: mean ${mean(passageTokens)}, max ${Math.max(...passageTokens)}; per short sentence: mean ${mean(inputs.short.map((t) => tokenize(t).length))}`);
  started = performance.now();
  for (const t of inputs.passages) tokenize(t);
  log(`tokenisation: ${((performance.now() - started) / inputs.passages.length).toFixed(3)} ms per passage`);

  let tfjsLoadMs: number | undefined;
  let reference: UseTfjsReference | undefined;
  if (options.only !== 'onnx') {
    started = performance.now();
    const ref = await UseTfjsReference.load(dir);
    reference = ref;
    tfjsLoadMs = performance.now() - started;
    rssAt.push(['after tfjs load', rss()]);
    add(`baseline: ${ref.backend}, batch ${BATCH} in input order`, (set) => timed(() => tfjsInOrder(ref, inputs[set], tokenize)));
    add(`${ref.backend}, batch ${BATCH} sorted by length`, (set) => timed(() => tfjsByLength(ref, inputs[set], tokenize)));
    add('tfjs-wasm, 2 threads (flag forced on)', undefined, probeTfjsThreads());
    const all = [...inputs.passages, ...inputs.short];
    const expected = await tfjsInOrder(ref, all, tokenize);
    const ours = (await shipped.embed(all, async () => {})).vectors;
    log(`agreement onnxruntime vs TF.js: min cosine ${minCosine(expected, ours).toFixed(9)} over ${all.length} texts`);
  }

  const extra: UseEncoder[] = [];
  let worker: Worker | undefined;
  if (options.only !== 'tfjs') {
    const embed = (use: UseEncoder): TimedRun => (set) => timed(() => use.embed(inputs[set], async () => {}));
    add('onnxruntime, token budget 2048 (shipped default)', embed(shipped));
    const variants: [string, UseEncoderOptions][] = options.quick
      ? []
      : [
          ['onnxruntime, token budget 4096', { batching: { ...DEFAULT_TOKEN_BUDGET, budget: 4096 } }],
          ['onnxruntime, token budget 4096, memory arena on', { batching: { ...DEFAULT_TOKEN_BUDGET, budget: 4096 }, memoryArena: true }],
          ['onnxruntime, token budget 2048, threads spin', { spinning: true }],
          ['onnxruntime, token budget 8192', { batching: { ...DEFAULT_TOKEN_BUDGET, budget: 8192, maxRows: 64 } }],
          ['onnxruntime, token budget 1024', { batching: { ...DEFAULT_TOKEN_BUDGET, budget: 1024 } }],
          ['onnxruntime, 1 thread, token budget 2048', { threads: 1 }],
        ];
    for (const [name, variantOptions] of variants) {
      const use = await UseEncoder.load(dir, variantOptions);
      extra.push(use);
      add(name, embed(use));
    }
    worker = await startWorker(dir, options);
    const w = worker;
    add('onnxruntime in a worker thread (as in the extension)', (set) => askWorker(w, set));
  }

  // Warm-up, then round-robin rounds.
  for (const c of configs) if (c.run) for (const set of ['short', 'passages'] as const) await c.run(set);
  // Each round starts with a different configuration, so none always runs right after the slow TF.js runs.
  const timedConfigs = configs.filter((c) => c.run);
  for (let round = 0; round < options.runs; round++) {
    for (const set of ['short', 'passages'] as const) {
      for (let k = 0; k < timedConfigs.length; k++) {
        const c = timedConfigs[(round + k) % timedConfigs.length]!;
        c.ms[set].push(await c.run!(set));
      }
    }
  }
  rssAt.push(['after all runs', rss()]);

  log('');
  log(`load: onnxruntime ${onnxLoadMs.toFixed(0)} ms (read shards + build ONNX + create session)${tfjsLoadMs !== undefined ? `, tfjs-wasm ${tfjsLoadMs.toFixed(0)} ms` : ''}`);
  log('');
  const rate = (c: Config, set: InputSet): number => inputs[set].length / (median(c.ms[set]) / 1000);
  const best = (c: Config, set: InputSet): number => inputs[set].length / (Math.min(...c.ms[set]) / 1000);
  const baseline = configs.find((c) => c.name.startsWith('baseline'));
  const width = Math.max(...configs.map((c) => c.name.length));
  log(`${'configuration'.padEnd(width)}  short/s (best)  70-word passages/s (best)  vs baseline (passages)`);
  for (const c of configs) {
    if (!c.run) {
      log(`${c.name.padEnd(width)}  ${c.note}`);
      continue;
    }
    const ratio = baseline ? `${(rate(c, 'passages') / rate(baseline, 'passages')).toFixed(2)}x` : '';
    const cell = (set: InputSet, pad: number): string => `${rate(c, set).toFixed(1)} (${best(c, set).toFixed(0)})`.padStart(pad);
    log(`${c.name.padEnd(width)}  ${cell('short', 14)}  ${cell('passages', 25)}  ${ratio}`);
  }
  const fast = configs.find((c) => c.name.includes('shipped default'));
  if (baseline && fast) {
    log('');
    log(
      `speed-up of the shipped path over the baseline (medians): ${(rate(fast, 'passages') / rate(baseline, 'passages')).toFixed(2)}x on passages, ${(rate(fast, 'short') / rate(baseline, 'short')).toFixed(2)}x on short sentences`,
    );
  }
  log('');
  log(`RSS of this process (both runtimes, ${extra.length + 1} onnxruntime sessions here + 1 in the worker): ${rssAt.map(([at, bytes]) => `${at} ${mib(bytes)}`).join(', ')}`);
  log(`RSS of the shipped path alone (fresh process): ${probeAlone(options)}`);
  reference?.dispose();
  for (const use of [shipped, ...extra]) await use.dispose();
  await worker?.terminate();
}

/**
 * tfjs-backend-wasm reports no thread support under Node; forcing the flag on is tried in a child process (the
 * backend is process-global) and whatever happens is reported.
 */
function probeTfjsThreads(): string {
  const r = spawnSync(process.execPath, [__filename, '--probe-tfjs-threads'], { encoding: 'utf8', timeout: 120_000 });
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /threads|Error|ERR_/.test(l));
  return r.status === 0 ? (lines.find((l) => l.startsWith('ok')) ?? 'ran') : `fails: ${lines.find((l) => /ERR_|TypeError/.test(l))?.trim() ?? lines[0] ?? `exit ${r.status}`}`;
}

async function probeMain(): Promise<void> {
  const ref = await UseTfjsReference.load(defaultUseAssetsDir(), { threads: 2 });
  const ids = Array.from({ length: BATCH }, (_, i) => Array.from({ length: 90 }, (_, k) => 6 + ((i * 31 + k * 7) % 7900)));
  const ms = await timed(() => ref.embedIds(ids));
  process.stdout.write(`ok ${ref.backend}: ${((BATCH * 1000) / ms).toFixed(1)} passages/s (one batch)\n`);
}

/** Memory of the shipped path by itself, measured in a child process so neither TF.js nor the variants count. */
function probeAlone(options: Options): string {
  const r = spawnSync(process.execPath, [__filename, '--probe-alone', '--passages', String(options.passages), '--short', String(options.short)], { encoding: 'utf8', timeout: 300_000 });
  return r.status === 0 ? r.stdout.trim() : `failed: ${r.stderr.trim().split('\n')[0]}`;
}

async function probeAloneMain(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const before = rss();
  const started = performance.now();
  const use = await UseEncoder.load();
  const loadMs = performance.now() - started;
  const loaded = rss();
  for (let round = 0; round < 3; round++) {
    await use.embed(passages(options.passages), async () => {});
    await use.embed(shortSentences(options.short), async () => {});
  }
  await use.attentionMaps(passages(1)[0]!);
  process.stdout.write(`node alone ${mib(before)}, after load ${mib(loaded)} (load ${loadMs.toFixed(0)} ms), after embedding 3 × ${options.passages + options.short} texts ${mib(rss())}\n`);
  await use.dispose();
}

/** A worker thread running the shipped path; it embeds an input set on request and answers with the time taken. */
function startWorker(dir: string, options: Options): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: { dir, options } });
    worker.once('message', () => resolve(worker));
    worker.once('error', reject);
  });
}

function askWorker(worker: Worker, set: InputSet): Promise<number> {
  return new Promise((resolve) => {
    worker.once('message', (ms: number) => resolve(ms));
    worker.postMessage(set);
  });
}

async function workerMain(): Promise<void> {
  const { dir, options } = workerData as { dir: string; options: Options };
  const use = await UseEncoder.load(dir);
  const inputs: Record<InputSet, string[]> = { short: shortSentences(options.short), passages: passages(options.passages) };
  parentPort!.on('message', (set: InputSet) => {
    void timed(() => use.embed(inputs[set], async () => {})).then((ms) => parentPort!.postMessage(ms));
  });
  parentPort!.postMessage('ready');
}

const mode = process.argv.includes('--probe-tfjs-threads') ? probeMain : process.argv.includes('--probe-alone') ? probeAloneMain : main;
(isMainThread ? mode() : workerMain()).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
