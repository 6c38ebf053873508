/**
 * `bert-lens`: the same core as the extension, from a terminal.
 *
 *   bert-lens attention "<text>" --model <id|folder> [--dtype fp32|q8] [--json]
 *   bert-lens embed "<text>"... --model <id|folder> [--dtype fp32|q8] [--json]
 *
 * Common options: --mirror <url> (Hub mirror), --offline (never download), --cache-dir <dir>.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { nestedAttentions, type AttentionMaps } from './protocol/attention';
import type { Dtype, LocalModel } from './protocol/worker';
import { HubDownloader, ModelDownloadError } from './core/models/hubDownloader';
import { DEFAULT_MODEL, modelDisplayName, USE_LITE_REF } from './core/models/modelRef';
import { ModelResolver } from './core/models/modelResolver';
import { ModelWorkerClient } from './core/worker/modelWorkerClient';

const USAGE = `Usage:
  bert-lens attention "<text>" --model <id|folder> [--dtype fp32|q8] [--json]
  bert-lens embed "<text>"... --model <id|folder> [--dtype fp32|q8] [--json]

Options:
  --model <ref>      Hub id (e.g. ${DEFAULT_MODEL}), a folder in transformers.js layout, or ${USE_LITE_REF}
                     (bundled, offline). Default: ${DEFAULT_MODEL}, or ${USE_LITE_REF} when that cannot be downloaded
  --dtype <dtype>    fp32 (onnx/model.onnx, default) or q8 (onnx/model_quantized.onnx)
  --json             machine-readable output on stdout
  --mirror <url>     Hugging Face Hub mirror base URL (default https://huggingface.co, or $BERT_LENS_HUB_MIRROR)
  --offline          never download; use cached or local models only
  --cache-dir <dir>  where downloaded models live (default $BERT_LENS_CACHE or ~/.cache/bert-lens)
  -h, --help         show this help`;

class UsageError extends Error {}

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

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      dtype: { type: 'string' },
      json: { type: 'boolean', default: false },
      mirror: { type: 'string' },
      offline: { type: 'boolean', default: false },
      'cache-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...texts] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const dtype = values.dtype ?? 'fp32';
  if (dtype !== 'fp32' && dtype !== 'q8') throw new UsageError(`--dtype must be fp32 or q8, not "${dtype}"`);
  const common: Common = {
    model: values.model ?? DEFAULT_MODEL,
    modelGiven: values.model !== undefined,
    dtype,
    json: values.json ?? false,
    mirror: values.mirror ?? process.env.BERT_LENS_HUB_MIRROR,
    offline: values.offline ?? false,
    cacheDir: values['cache-dir'] ?? process.env.BERT_LENS_CACHE ?? path.join(os.homedir(), '.cache', 'bert-lens'),
  };
  switch (command) {
    case 'attention':
      if (texts.length !== 1) throw new UsageError('attention takes exactly one text argument');
      return withWorker(common, (client, model) => attention(client, model, texts[0]!, common));
    case 'embed':
      if (texts.length === 0) throw new UsageError('embed needs at least one text argument');
      return withWorker(common, (client, model) => embed(client, model, texts, common));
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function withWorker(common: Common, run: (client: ModelWorkerClient, model: LocalModel) => Promise<void>): Promise<number> {
  const resolver = new ModelResolver(
    new HubDownloader({ cacheDir: path.join(common.cacheDir, 'models'), host: common.mirror, allowDownloads: !common.offline }),
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`bert-lens: ${message}\n`);
    if (e instanceof UsageError) process.stderr.write(`\n${USAGE}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);
