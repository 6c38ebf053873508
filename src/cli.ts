/**
 * `bert-lens`: the same core as the extension, from a terminal. The subcommands are the table {@link COMMANDS}; their
 * options, the help text and the exit codes are in ./cliOptions.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { describeReadPart, nestedAttentions, type AttentionMaps } from './protocol/attention';
import type { Dtype, LocalModel } from './protocol/worker';
import { HubDownloader, ModelDownloadError } from './core/models/hubDownloader';
import { DEFAULT_MODEL, modelDisplayName, USE_LITE_REF } from './core/models/modelRef';
import { ModelResolver } from './core/models/modelResolver';
import { ModelWorkerClient } from './core/worker/modelWorkerClient';
import { summarizeCommand } from './cliSummarize';
import { DEFAULT_SUMMARY_MODEL } from './core/summarize/summaryModels';
import { defaultStoreDir, indexDirectory, searchDirectory, type SearchJson } from './core/search/directory';
import type { Embedder, IndexProgress, SearchMode } from './core/search/types';
import { WorkerEmbedder } from './core/search/workerEmbedder';
import { proxyFromEnvironment } from './core/models/proxy';
import { commandHelp, EXIT, generalHelp, MODEL_OPTIONS, parseCommandLine, UsageError, type OptionValues, type Subcommand } from './cliOptions';
import { version } from '../package.json';

interface Common {
  readonly model: string;
  /** False when --model was left out: then the bundled encoder stands in if the default cannot be downloaded. */
  readonly modelGiven: boolean;
  readonly dtype: Dtype;
  readonly json: boolean;
  readonly mirror: string | undefined;
  readonly offline: boolean;
  readonly cacheDir: string;
}

function commonOptions(values: OptionValues): Common {
  const dtype = values.dtype ?? 'fp32';
  if (dtype !== 'fp32' && dtype !== 'q8') throw new UsageError(`--dtype must be fp32 or q8, not "${dtype}"`);
  return {
    model: values.model ?? DEFAULT_MODEL,
    modelGiven: values.model !== undefined,
    dtype,
    json: values.json ?? false,
    mirror: values.mirror ?? process.env.BERT_LENS_HUB_MIRROR,
    offline: values.offline ?? false,
    cacheDir: values['cache-dir'] ?? process.env.BERT_LENS_CACHE ?? path.join(os.homedir(), '.cache', 'bert-lens'),
  };
}

function wholeNumber(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${flag} must be a whole number of at least 1, not "${v}"`);
  return Number(v);
}

const COMMANDS: readonly Subcommand[] = [
  {
    name: 'attention',
    synopsis: ['"<text>" [--model <id|folder>] [--dtype fp32|q8] [--json]'],
    summary: 'Attention weights of one text: the most attended token per query, or every map with --json.',
    options: MODEL_OPTIONS,
    run: (values, texts) => {
      if (texts.length !== 1) throw new UsageError(`attention takes exactly one text argument, not ${texts.length}; quote the text`);
      const common = commonOptions(values);
      return withWorker(common, (client, model) => attention(client, model, texts[0]!, common));
    },
  },
  {
    name: 'embed',
    synopsis: ['"<text>"... [--model <id|folder>] [--dtype fp32|q8] [--json]'],
    summary: 'Sentence embeddings of one or more texts, and their cosine similarities.',
    options: MODEL_OPTIONS,
    run: (values, texts) => {
      if (texts.length === 0) throw new UsageError('embed needs at least one text argument: bert-lens embed "some text"');
      const common = commonOptions(values);
      return withWorker(common, (client, model) => embed(client, model, texts, common));
    },
  },
  {
    name: 'summarize',
    synopsis: ['<file|-> [--model <ref>] [--mode abstractive|extractive] [--max-tokens N] [--sentences N] [--json]'],
    summary: `Summary of a text file (- reads standard input): abstractive with a seq2seq model (default ${DEFAULT_SUMMARY_MODEL}), or extractive with an embedding model.`,
    options: [...MODEL_OPTIONS, 'mode', 'max-tokens', 'sentences'],
    optionHelp: {
      mode: 'abstractive (a seq2seq model) or extractive (an embedding model); default: abstractive for seq2seq models',
      model: `a seq2seq model for abstractive summaries (default ${DEFAULT_SUMMARY_MODEL}), or an embedding model (e.g. ${USE_LITE_REF}) for extractive ones`,
      json: 'machine-readable output on stdout; abstractive gives the generated ids',
    },
    run: (values, texts) => {
      if (texts.length !== 1) throw new UsageError(`summarize takes one file (or - for standard input), not ${texts.length}`);
      const common = commonOptions(values);
      const mode = values.mode ?? 'auto';
      if (mode !== 'auto' && mode !== 'abstractive' && mode !== 'extractive') throw new UsageError(`--mode must be abstractive or extractive, not "${mode}"`);
      const counts = { maxTokens: wholeNumber('--max-tokens', values['max-tokens']), sentences: wholeNumber('--sentences', values.sentences) };
      return summarizeCommand(texts[0]!, { ...common, ...counts, model: values.model, mode }, (run) => withWorker(common, run));
    },
  },
  {
    name: 'index',
    synopsis: ['<dir> [--model <ref>] [--store <dir>] [--json]'],
    summary: 'Builds or updates the semantic search index of a folder; Ctrl+C keeps what is done.',
    options: [...MODEL_OPTIONS, 'store'],
    run: (values, texts) => {
      if (texts.length !== 1) throw new UsageError(`index takes exactly one folder, not ${texts.length}`);
      const common = commonOptions(values);
      const dir = existingDir(texts[0]!);
      const store = values.store ?? defaultStoreDir(common.cacheDir, dir);
      return withCancel((signal) => withWorker(common, (client, model) => indexCommand(client, model, dir, store, common, signal)));
    },
  },
  {
    name: 'search',
    synopsis: ['"<query>" [--dir <dir>] [--model <ref>] [--store <dir>] [--mode hybrid|vector|lexical] [-k N] [--json]', '--queries <file|-> [--dir <dir>] …   one query per line in, one JSON object per line out'],
    summary: 'Searches a folder by meaning (indexing it first where needed).',
    options: [...MODEL_OPTIONS, 'store', 'dir', 'mode', 'k', 'queries'],
    optionHelp: { mode: 'hybrid (BM25 + vectors, default), vector or lexical' },
    run: (values, texts) => {
      if (values.queries !== undefined ? texts.length !== 0 : texts.length !== 1) throw new UsageError('search takes one query argument, or --queries <file>; quote a query of several words');
      const common = commonOptions(values);
      const mode = values.mode ?? 'hybrid';
      if (mode !== 'hybrid' && mode !== 'vector' && mode !== 'lexical') throw new UsageError(`--mode must be hybrid, vector or lexical, not "${mode}"`);
      const k = wholeNumber('-k', values.k) ?? 10;
      const dir = existingDir(values.dir ?? '.');
      const store = values.store ?? defaultStoreDir(common.cacheDir, dir);
      const queries = values.queries !== undefined ? queryLines(values.queries) : texts;
      const json = common.json || values.queries !== undefined;
      return withCancel((signal) => withWorker(common, (client, model) => searchCommand(client, model, { dir, store, mode, k, json, queries, signal })));
    },
  },
];

async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, COMMANDS);
  switch (line.kind) {
    case 'version':
      process.stdout.write(`bert-lens ${version}\n`);
      return EXIT.ok;
    case 'help':
      process.stdout.write(`${line.command ? commandHelp(line.command) : generalHelp(COMMANDS)}\n`);
      return EXIT.ok;
    case 'missing':
      process.stderr.write(`${generalHelp(COMMANDS)}\n`);
      return EXIT.usage;
    case 'run':
      return line.command.run(line.values, line.positionals);
  }
}

async function withWorker(common: Common, run: (client: ModelWorkerClient, model: LocalModel) => Promise<void>): Promise<number> {
  const resolver = new ModelResolver(
    new HubDownloader({ cacheDir: path.join(common.cacheDir, 'models'), host: common.mirror, allowDownloads: !common.offline, proxy: proxyFromEnvironment() }),
  );
  let model: LocalModel;
  try {
    model = await resolver.resolve(common.model, common.dtype, {
      onProgress: (p) => {
        if (!process.stderr.isTTY) return;
        const share = p.fileTotal ? ` ${Math.round((100 * p.fileLoaded) / p.fileTotal)}%` : '';
        process.stderr.write(`\rdownloading ${p.file}${share} (${p.filesDone + 1}/${p.filesTotal})\x1b[K`);
      },
    });
  } catch (e) {
    if (common.modelGiven || !(e instanceof ModelDownloadError) || e.kind === 'cancelled') throw e;
    process.stderr.write(`bert-lens: ${e.message}\nbert-lens: using the bundled ${modelDisplayName(USE_LITE_REF)} instead (pass --model to choose).\n`);
    model = await resolver.resolve(USE_LITE_REF, 'fp32');
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const client = new ModelWorkerClient({ workerScript: path.join(__dirname, 'worker.js') });
  try {
    await run(client, model);
  } finally {
    await client.dispose();
  }
  return 0;
}

async function attention(client: ModelWorkerClient, model: LocalModel, text: string, common: Common): Promise<void> {
  const maps = await client.request({ type: 'attention', model, text });
  if (common.json) {
    process.stdout.write(`${JSON.stringify(attentionJson(maps))}\n`);
    return;
  }
  const n = maps.tokens.length;
  const out: string[] = [
    `model ${maps.model} · ${n} tokens · ${maps.layers} layers × ${maps.heads} heads`,
  ];
  const part = describeReadPart(maps.read);
  if (part) out.push(`read the ${part} of the input (the rest was not tokenised)`);
  if (maps.truncated) out.push(`input truncated: ${maps.inputTokens} tokens, the model reads at most ${maps.maxTokens}`);
  out.push('', 'Most attended token per query (last layer, mean over heads):');
  const last = maps.layers - 1;
  for (let q = 0; q < n; q++) {
    let best = 0;
    let bestWeight = -1;
    for (let k = 0; k < n; k++) {
      let w = 0;
      for (let h = 0; h < maps.heads; h++) w += maps.weights[((last * maps.heads + h) * n + q) * n + k]!;
      w /= maps.heads;
      if (w > bestWeight) [best, bestWeight] = [k, w];
    }
    const t = maps.tokens[q]!;
    out.push(`  ${String(q).padStart(3)} ${t.text.padEnd(16)} [${t.start},${t.end}) → ${maps.tokens[best]!.text} (${bestWeight.toFixed(3)})`);
  }
  out.push('', 'Use --json for every map.');
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The CLI's JSON form of attention: `attentions[layer][head][query][key]`, tokens as `{ text, start, end }`. */
function attentionJson(maps: AttentionMaps): unknown {
  return {
    model: maps.model,
    tokens: maps.tokens.map(({ text, start, end, special }) => ({ text, start, end, special })),
    layers: maps.layers,
    heads: maps.heads,
    truncated: maps.truncated,
    maxTokens: maps.maxTokens,
    inputTokens: maps.inputTokens,
    read: maps.read,
    attentions: nestedAttentions(maps),
  };
}

async function embed(client: ModelWorkerClient, model: LocalModel, texts: string[], common: Common): Promise<void> {
  const { dims, vectors } = await client.request({ type: 'embed', model, texts });
  const rows = texts.map((_, i) => Array.from(vectors.subarray(i * dims, (i + 1) * dims)));
  if (common.json) {
    process.stdout.write(`${JSON.stringify({ model: model.ref, dims, vectors: rows })}\n`);
    return;
  }
  const out = [`model ${model.ref} · ${dims} dimensions`];
  rows.forEach((v, i) => out.push(`  [${i}] ${v.slice(0, 6).map((x) => x.toFixed(4)).join(' ')} …  ${JSON.stringify(texts[i]!.slice(0, 60))}`));
  if (rows.length > 1) {
    out.push('', 'cosine similarity:');
    rows.forEach((a, i) => out.push(`  [${i}] ${rows.map((b) => a.reduce((s, x, d) => s + x * b[d]!, 0).toFixed(3)).join('  ')}`));
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

class Cancelled extends Error {}

/**
 * Runs `work` with a signal that Ctrl+C aborts: the index commits what is finished and closes cleanly, and the exit
 * code is 130. A second Ctrl+C exits at once.
 */
async function withCancel(work: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT.cancelled);
    process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}bert-lens: cancelling (Ctrl+C again to quit at once)…\n`);
    controller.abort(new Cancelled('cancelled'));
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } catch (e) {
    if (!controller.signal.aborted) throw e;
    process.stderr.write('bert-lens: cancelled; the files indexed so far are saved and the next run goes on from there\n');
    return EXIT.cancelled;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function existingDir(dir: string): string {
  const abs = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new Error(`${abs} does not exist`);
  }
  if (!stat.isDirectory()) throw new Error(`${abs} is not a folder`);
  return abs;
}

async function* queryLines(file: string): AsyncGenerator<string> {
  const input = file === '-' ? process.stdin : fs.createReadStream(file, 'utf8');
  const opened = new Promise<void>((resolve, reject) => {
    if (file === '-') resolve();
    input.once('error', reject);
    input.once('open', () => resolve());
  });
  await opened.catch((e: unknown) => {
    throw new Error(`cannot read queries from ${file}: ${(e as Error).message}`);
  });
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) yield line;
}

/** Progress on stderr: one rewritten line on a terminal, else a line per phase and at most one every 2 s. */
function progressPrinter(): { onProgress: (p: IndexProgress) => void; end: () => void } {
  const tty = process.stderr.isTTY;
  let lastPhase = '';
  let lastLine = 0;
  return {
    onProgress: (p) => {
      const now = performance.now();
      if (!tty && p.phase === lastPhase && now - lastLine < 2000) return;
      lastPhase = p.phase;
      lastLine = now;
      const percent = p.filesTotal > 0 ? ` ${Math.floor((100 * p.filesDone) / p.filesTotal)}%` : '';
      const files = p.filesTotal > 0 ? ` · ${p.filesDone}/${p.filesTotal} files` : p.message ? ` · ${p.message}` : '';
      const line = `${p.phase}${percent}${files} · ${p.chunksEmbedded} passages embedded${p.skipped.length ? ` · ${p.skipped.length} skipped` : ''}`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    end: () => {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * The embedder for index/search. Stopping the worker thread in the middle of an onnxruntime run aborts the whole
 * process, so Ctrl+C does not cancel the batch in the worker: the caller is answered at once and {@link settled} waits
 * for the batch in flight (under a second) before the worker is shut down.
 */
class FinishingEmbedder implements Embedder {
  private readonly running = new Set<Promise<Float32Array>>();
  constructor(private readonly inner: WorkerEmbedder) {}
  get modelKey(): string {
    return this.inner.modelKey;
  }
  get dims(): number {
    return this.inner.dims;
  }
  get maxTokens(): number {
    return this.inner.maxTokens;
  }
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array> {
    signal?.throwIfAborted();
    const run = this.inner.embed(texts);
    this.running.add(run);
    const forget = (): void => void this.running.delete(run);
    run.then(forget, forget);
    if (!signal) return run;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      run.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}

async function indexCommand(client: ModelWorkerClient, model: LocalModel, dir: string, store: string, common: Common, signal: AbortSignal): Promise<void> {
  const embedder = new FinishingEmbedder(await WorkerEmbedder.create(client, model, { signal }));
  const progress = progressPrinter();
  let result;
  try {
    result = await indexDirectory(dir, embedder, { store, signal, onProgress: progress.onProgress });
  } finally {
    progress.end();
    await embedder.settled();
  }
  const { report, summary, stats } = result;
  if (common.json) {
    const skipped = summary.skipped.map((s) => ({ path: s.relPath, reason: s.reason, ...(s.detail ? { detail: s.detail } : {}) }));
    process.stdout.write(
      `${JSON.stringify({ dir, store: stats.storePath, model: embedder.modelKey, opened: report.status, files: stats.files, chunks: stats.chunks, filesIndexed: summary.filesIndexed, filesUnchanged: summary.filesUnchanged, filesDeleted: summary.filesDeleted, chunksEmbedded: summary.chunksEmbedded, chunksReused: summary.chunksReused, passagesSplit: summary.passagesSplit, ignored: summary.ignored, skipped, ms: Math.round(summary.ms) })}\n`,
    );
    return;
  }
  const out = [
    `indexed ${dir} with ${embedder.modelKey} in ${(summary.ms / 1000).toFixed(1)} s`,
    `  ${stats.files} files, ${stats.chunks} passages in the index (${stats.storePath}${report.status === 'rebuilt' ? `, rebuilt: ${report.reason}` : ''})`,
    `  this run: ${summary.filesIndexed} files read, ${summary.filesUnchanged} unchanged, ${summary.filesDeleted} deleted; ${summary.chunksEmbedded} passages embedded, ${summary.chunksReused} reused${summary.passagesSplit > 0 ? `, ${summary.passagesSplit} split to fit the model` : ''}; ${summary.ignored} ignored`,
  ];
  if (summary.skipped.length > 0) out.push(`  ${summary.skipped.length} skipped:`, ...summary.skipped.map((s) => `    ${s.relPath}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`));
  process.stdout.write(`${out.join('\n')}\n`);
}

interface SearchCommand {
  readonly dir: string;
  readonly store: string;
  readonly mode: SearchMode;
  readonly k: number;
  readonly json: boolean;
  readonly queries: Iterable<string> | AsyncIterable<string>;
  readonly signal: AbortSignal;
}

async function searchCommand(client: ModelWorkerClient, model: LocalModel, c: SearchCommand): Promise<void> {
  const embedder = new FinishingEmbedder(await WorkerEmbedder.create(client, model, { signal: c.signal }));
  const progress = progressPrinter();
  let first = true;
  try {
    for await (const answer of searchDirectory(c.dir, embedder, c.queries, { store: c.store, mode: c.mode, k: c.k, signal: c.signal, onProgress: progress.onProgress })) {
      if (first) progress.end();
      first = false;
      process.stdout.write(c.json ? `${JSON.stringify(answer)}\n` : searchText(answer));
    }
  } finally {
    if (first) progress.end();
    await embedder.settled();
  }
}

function searchText(answer: SearchJson): string {
  const out = [`${answer.results.length} results for ${JSON.stringify(answer.query)}`];
  answer.results.forEach((r, i) => {
    out.push(``, `${String(i + 1).padStart(3)}. ${r.path}:${r.startLine}${r.endLine > r.startLine ? `-${r.endLine}` : ''}  (score ${r.score.toFixed(4)})${r.context ? `  in ${r.context.length > 60 ? `${r.context.slice(0, 59)}…` : r.context}` : ''}`);
    const lines = r.text.split('\n').filter((l) => l.trim() !== '');
    for (const line of lines.slice(0, 4)) out.push(`       ${line.length > 116 ? `${line.slice(0, 115)}…` : line}`);
    if (lines.length > 4) out.push(`       … ${lines.length - 4} more lines`);
  });
  return `${out.join('\n')}\n`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // One line: what was wrong and what to do; the usage errors name the help to read.
    const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();
    process.stderr.write(`bert-lens: ${message}\n`);
    process.exitCode = e instanceof UsageError ? EXIT.usage : EXIT.failure;
  },
);
