// Peak memory while embedding passages for an index: BERT Lens's model worker as the indexer calls it (32 passages a
// call, token-budget runs, an embedding session without attention outputs) against the peer pipeline
// (transformers.js pipeline('feature-extraction'), one passage per call), each alone in a fresh process, on the same
// passages of TypeScript's lib.es5.d.ts (npm) cut by BERT Lens's chunker, for the MiniLM-size BERT, fp32 and q8.
//   node esbuild.js && node out/bench/indexMemory.js [--passages 256]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chunkDocument } from '../../src/core/search/chunker';
import { WorkerEmbedder } from '../../src/core/search/workerEmbedder';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import type { Dtype, LocalModel } from '../../src/protocol/worker';
import { ensureMiniLm } from '../harness/bench';
import { repoRoot, workerScript } from '../harness/paths';

const INDEXER_CALL = 32;

function passages(count: number): string[] {
  const text = fs.readFileSync(path.join(repoRoot, 'node_modules', 'typescript', 'lib', 'lib.es5.d.ts'), 'utf8');
  return chunkDocument({ uri: 'mem:///lib.es5.d.ts', relPath: 'lib.es5.d.ts', text }, { maxTokens: 512 })
    .slice(0, count)
    .map((c) => c.text);
}

/** Runs `work` while sampling this process's RSS every 10 ms; returns the peak in MiB. */
async function peakDuring(work: () => Promise<void>): Promise<number> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage.rss()) / 2 ** 20;
}

async function child(kind: string, dtype: Dtype, count: number): Promise<void> {
  const texts = passages(count);
  const local: LocalModel = { ref: 'minilm', dir: ensureMiniLm(), dtype };
  let peak: number;
  if (kind === 'peer') {
    const { pipeline, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = '';
    const extractor = await pipeline('feature-extraction', local.dir, { dtype: dtype === 'q8' ? 'q8' : 'fp32' });
    peak = await peakDuring(async () => {
      for (const t of texts) await extractor(t, { pooling: 'mean', normalize: true });
    });
  } else {
    const client = new ModelWorkerClient({ workerScript });
    const embedder = await WorkerEmbedder.create(client, local);
    peak = await peakDuring(async () => {
      for (let i = 0; i < texts.length; i += INDEXER_CALL) await embedder.embed(texts.slice(i, i + INDEXER_CALL));
    });
    await client.dispose();
  }
  process.stdout.write(`${JSON.stringify({ peak })}\n`);
}

function measure(kind: string, dtype: Dtype, count: number): number {
  const r = spawnSync(process.execPath, [__filename, '--child', kind, dtype, String(count)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${kind} ${dtype} failed:\n${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { peak: number }).peak;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--child');
  if (at >= 0) return child(process.argv[at + 1]!, process.argv[at + 2] as Dtype, Number(process.argv[at + 3]));
  const i = process.argv.indexOf('--passages');
  const count = i >= 0 ? Number(process.argv[i + 1]) : 256;
  console.log(`Peak RSS of a process embedding ${count} passages of lib.es5.d.ts with a MiniLM-size BERT (median of 3, each run in a fresh process)`);
  console.log('| dtype | peer: one passage per call | BERT Lens: the indexer\'s calls of 32 | BERT Lens / peer |');
  console.log('|---|---|---|---|');
  for (const dtype of ['fp32', 'q8'] as const) {
    const runs = { peer: [] as number[], lens: [] as number[] };
    for (let round = 0; round < 3; round++) {
      runs.peer.push(measure('peer', dtype, count));
      runs.lens.push(measure('lens', dtype, count));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1]!;
    const peer = median(runs.peer);
    const lens = median(runs.lens);
    console.log(`| ${dtype} | ${peer.toFixed(0)} MiB | ${lens.toFixed(0)} MiB | ${(lens / peer).toFixed(2)}× |`);
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
