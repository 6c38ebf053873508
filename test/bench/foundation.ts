// Foundation benchmark: worker start, model load, attention latency for a 128-token input on a MiniLM-size random
// BERT (6 layers, 12 heads, hidden 384), and the host event-loop lag while it runs. With --vscode it also measures
// extension activation inside a real code-server extension host.
//
//   node esbuild.js && node out/bench/foundation.js [--vscode] [--runs N]
//
// The MiniLM-size model is generated once into .cache/minilm with /usr/bin/python3 (Debian python3-torch).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import type { LocalModel } from '../../src/protocol/worker';
import { ensureMiniLm, extensionHostMetrics } from '../harness/bench';
import { workerScript } from '../harness/paths';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 30;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A text of exactly `tokens` tokens including [CLS]/[SEP], found by growing a sentence. */
async function textOfLength(client: ModelWorkerClient, model: LocalModel, tokens: number): Promise<string> {
  const words = 'the model reads every token of this sentence and attends to the others in each layer'.split(' ');
  let text = '';
  for (let i = 0; ; i++) {
    const next = `${text} ${words[i % words.length]}`.trim();
    const maps = await client.request({ type: 'attention', model, text: next });
    if (maps.tokens.length > tokens) return text;
    text = next;
    if (maps.tokens.length === tokens) return text;
  }
}

async function lagDuring<T>(work: () => Promise<T>): Promise<{ result: T; p99: number; max: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const result = await work();
  h.disable();
  return { result, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

async function main(): Promise<void> {
  const dir = ensureMiniLm();
  const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

  const startTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const c = new ModelWorkerClient({ workerScript });
    const t = performance.now();
    await c.start();
    startTimes.push(performance.now() - t);
    await c.dispose();
  }
  console.log(`worker start (spawn → ready, median of 5): ${fmt(percentile(startTimes, 50))}`);

  for (const dtype of ['fp32', 'q8'] as const) {
    const client = new ModelWorkerClient({ workerScript });
    const model: LocalModel = { ref: 'minilm-random', dir, dtype };
    const t = performance.now();
    const info = await client.request({ type: 'modelInfo', model });
    console.log(`\n[${dtype}] model load (first request, incl. graph scan + session): ${fmt(performance.now() - t)} (worker-side ${fmt(info.loadMs)})`);
    const text = await textOfLength(client, model, 128);

    const embedMs: number[] = [];
    const attentionMs: number[] = [];
    const idle = await lagDuring(() => new Promise((r) => setTimeout(r, 1000)));
    const { p99, max } = await lagDuring(async () => {
      for (let i = 0; i < runs; i++) {
        let s = performance.now();
        await client.request({ type: 'embed', model, texts: [text] });
        embedMs.push(performance.now() - s);
        s = performance.now();
        const maps = await client.request({ type: 'attention', model, text });
        attentionMs.push(performance.now() - s);
        if (maps.tokens.length !== 128) throw new Error(`expected 128 tokens, got ${maps.tokens.length}`);
      }
    });
    const a50 = percentile(attentionMs, 50);
    const e50 = percentile(embedMs, 50);
    console.log(`[${dtype}] 128 tokens, ${runs} runs: attention p50 ${fmt(a50)} p95 ${fmt(percentile(attentionMs, 95))} (maps ${(6 * 12 * 128 * 128 * 4) / 2 ** 20} MiB)`);
    console.log(`[${dtype}] same input, embedding only (no attention outputs): p50 ${fmt(e50)} → attention/embedding ratio ${(a50 / e50).toFixed(2)}`);
    console.log(`[${dtype}] host event-loop lag while running: p99 ${fmt(p99)}, max ${fmt(max)} (idle baseline p99 ${fmt(idle.p99)}, max ${fmt(idle.max)})`);
    await client.dispose();
  }
  console.log(`\nhost RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);

  if (process.argv.includes('--vscode')) {
    const { lines } = await extensionHostMetrics('BERT Lens in the extension host');
    console.log('\nreal extension host (code-server):');
    for (const line of lines) console.log(`  ${line}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
