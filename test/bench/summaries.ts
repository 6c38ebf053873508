// Summaries benchmark: hover latency cached and uncached (extractive, bundled encoder) over function-size pieces of
// this repository's own code, greedy tokens/s on a t5-small-size random T5 through the model worker as the Summary
// panel runs it (streamed), and the calling thread's event-loop lag while summarising (abstractive with
// cross-attention, and extractive). With --vscode it also runs the extension-host summary suite in code-server and
// prints its figures (hover latency inside VS Code, event-loop lag of the real extension host).
//
//   node esbuild.js && node out/bench/summaries.js [--runs N] [--vscode]
//
// The t5-small-size model is the one test/bench/seq2seq.ts generates into .cache/t5-small (run that first).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { USE_LITE_REF } from '../../src/core/models/modelRef';
import { abstractiveSummary, crossAttentionMeans, extractiveSummary, finalInput } from '../../src/core/summarize/summarizer';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import type { LocalModel } from '../../src/protocol/worker';
import { SummaryScheduler } from '../../src/vscode/summary/scheduler';
import { SummaryCache } from '../../src/vscode/summary/summaryCache';
import { SummaryStore } from '../../src/vscode/summary/summaryStore';
import { extensionHostMetrics, lagDuring, percentile } from '../harness/bench';
import { repoRoot, workerScript } from '../harness/paths';
import { threeTopicDocument } from '../harness/summaryFixtures';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const fmt = (ms: number): string => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
const BUNDLED: LocalModel = { ref: USE_LITE_REF, dir: '', dtype: 'fp32' };

/** Function-size pieces of this repository's TypeScript: a doc comment and the 20 lines after it. */
function codeSnippets(limit: number): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (fs.statSync(file).isDirectory()) walk(file);
      else if (name.endsWith('.ts')) {
        const lines = fs.readFileSync(file, 'utf8').split('\n');
        lines.forEach((line, i) => {
          if (out.length < limit && line.trim() === '/**' && i % 3 === 0) out.push(lines.slice(i, i + 24).join('\n'));
        });
      }
    }
  };
  walk(path.join(repoRoot, 'src'));
  return out;
}

async function hoverLatency(client: ModelWorkerClient): Promise<void> {
  const snippets = codeSnippets(60);
  const embed = async (texts: readonly string[], signal?: AbortSignal): Promise<Float32Array> =>
    (await client.request({ type: 'embed', model: BUNDLED, texts }, signal ? { signal } : {})).vectors;
  const store = new SummaryStore(new SummaryCache(undefined), new SummaryScheduler());
  const compute = (text: string) => async () => {
    const r = await extractiveSummary(text, 'typescript', embed, { count: 2, maxChars: 400 });
    return { text: r.text, mode: 'extractive' as const, model: USE_LITE_REF };
  };
  const started = performance.now();
  await store.lookup(SummaryCache.key('warm-up', snippets[0]!), compute(snippets[0]!), 60_000);
  console.log(`first hover summary after start (worker start + bundled encoder load + summary): ${fmt(performance.now() - started)}`);
  const uncached: number[] = [];
  const cached: number[] = [];
  for (const text of snippets) {
    const key = SummaryCache.key('hover', text);
    let t = performance.now();
    const r = await store.lookup(key, compute(text), 60_000);
    uncached.push(performance.now() - t);
    if (r.kind !== 'ready' || r.cached) throw new Error('expected a computed summary');
    t = performance.now();
    const again = await store.lookup(key, compute(text), 60_000);
    cached.push(performance.now() - t);
    if (again.kind !== 'ready' || !again.cached) throw new Error('expected a cache hit');
  }
  const within = uncached.filter((ms) => ms <= 250).length;
  console.log(`hover, uncached (extractive, bundled encoder, ${snippets.length} doc-commented snippets of src/): p50 ${fmt(percentile(uncached, 50))}, p95 ${fmt(percentile(uncached, 95))}, max ${fmt(Math.max(...uncached))}; ${within}/${snippets.length} within the 250 ms hover budget`);
  console.log(`hover, cached: p50 ${(percentile(cached, 50) * 1000).toFixed(0)} µs, p95 ${(percentile(cached, 95) * 1000).toFixed(0)} µs`);
}

async function greedy(client: ModelWorkerClient, dir: string): Promise<void> {
  const text = threeTopicDocument().text.repeat(3);
  const paragraph = threeTopicDocument().text;
  for (const dtype of ['fp32', 'q8'] as const) {
    const model: LocalModel = { ref: 'random-t5-small', dir, dtype };
    const t = performance.now();
    await client.request({ type: 'seq2seqInfo', model });
    const [inputTokens] = await client.request({ type: 'countInputTokens', model, texts: [paragraph] });
    console.log(`\n[${dtype}] t5-small-size load: ${fmt(performance.now() - t)}`);
    const tokens = 64;
    const rates: number[] = [];
    const decodeRates: number[] = [];
    for (let i = 0; i <= runs; i++) {
      let firstAt = 0;
      const started = performance.now();
      const r = await client.request(
        { type: 'generate', model, text: paragraph, options: { maxNewTokens: tokens, minNewTokens: tokens }, stream: true },
        {
          onStream: (u) => {
            if (u.step === 1 && firstAt === 0) firstAt = performance.now();
          },
        },
      );
      const total = performance.now() - started;
      if (r.steps !== tokens) throw new Error(`expected ${tokens} steps, got ${r.steps}`);
      if (i === 0) continue; // warm-up
      rates.push(tokens / (total / 1000));
      decodeRates.push((tokens - 1) / ((performance.now() - firstAt) / 1000));
    }
    console.log(
      `[${dtype}] greedy with the KV cache, ${tokens} tokens streamed to this thread from a ${inputTokens}-token input: ` +
        `${percentile(rates, 50).toFixed(1)} tokens/s end to end (encoder included), ${percentile(decodeRates, 50).toFixed(1)} tokens/s after the first token (median of ${runs})`,
    );
    // Event-loop lag of this thread while summarising with streaming, then reading the cross-attention.
    const idle = await lagDuring(() => new Promise((r) => setTimeout(r, 1000)));
    const { result, p99, max } = await lagDuring(async () => {
      const r = await abstractiveSummary(client, model, text, { options: { maxNewTokens: 48 }, onStream: () => undefined });
      const input = finalInput(text, r);
      const view = await crossAttentionMeans(client, model, input.text, r.final.ids, { linked: input.linked });
      return { r, view };
    });
    console.log(
      `[${dtype}] summary of ${text.length} characters (${result.r.rounds[0]?.parts.length ?? 1} parts) + cross-attention means (${result.view.layers}×${result.view.heads}×${result.view.targetTokens.length}×${result.view.sourceTokens.length}): ` +
        `calling thread lag p99 ${fmt(p99)}, max ${fmt(max)} (idle p99 ${fmt(idle.p99)})`,
    );
    await client.request({ type: 'unload', model });
  }
}

async function extractiveLag(client: ModelWorkerClient): Promise<void> {
  const text = Array.from({ length: 20 }, () => threeTopicDocument().text).join('\n');
  const embed = async (texts: readonly string[]): Promise<Float32Array> => (await client.request({ type: 'embed', model: BUNDLED, texts })).vectors;
  const started = performance.now();
  const { result, p99, max } = await lagDuring(() => extractiveSummary(text, 'markdown', embed, { count: 5 }));
  console.log(`\nextractive, bundled encoder, ${result.totalSentences} sentences: ${fmt(performance.now() - started)}; calling thread lag p99 ${fmt(p99)}, max ${fmt(max)}`);
}

async function main(): Promise<void> {
  console.log(`${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}\n`);
  const client = new ModelWorkerClient({ workerScript });
  try {
    await hoverLatency(client);
    await extractiveLag(client);
    const t5 = path.join(repoRoot, '.cache', 't5-small');
    if (fs.existsSync(path.join(t5, 'onnx', 'decoder_model_merged.onnx'))) await greedy(client, t5);
    else console.log('\n(no .cache/t5-small: run `node out/bench/seq2seq.js` once to generate the t5-small-size model)');
  } finally {
    await client.dispose();
  }
  if (process.argv.includes('--vscode')) {
    const metrics = await extensionHostMetrics('Summaries in the extension host');
    console.log(`\nreal extension host (code-server), ${metrics.passed} passed, ${metrics.failed} failed:`);
    for (const line of metrics.lines) console.log(`  ${line}`);
  }
  console.log(`\nload average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
