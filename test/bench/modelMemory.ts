// Memory of a session that uses five models: the model worker with BERT Lens's default limit on loaded models
// (3) against no limit, each in its own process so one run's heap does not colour the other's.
//   node out/bench/modelMemory.js
import { spawnSync } from 'node:child_process';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import { modelLimitsEnv, type ModelLimits } from '../../src/protocol/modelLimits';
import type { LocalModel } from '../../src/protocol/worker';
import { fixtureModel, workerScript } from '../harness/paths';

const ENCODERS: LocalModel[] = [
  { ref: 'bundled:use-lite', dir: '', dtype: 'fp32' },
  { ref: 'tiny-bert', dir: fixtureModel('tiny-bert'), dtype: 'fp32' },
  { ref: 'tiny-bert-wide', dir: fixtureModel('tiny-bert-wide'), dtype: 'fp32' },
  { ref: 'fused-attention', dir: fixtureModel('fused-attention'), dtype: 'fp32' },
];
const SEQ2SEQ: LocalModel = { ref: 'tiny-t5', dir: fixtureModel('tiny-t5'), dtype: 'fp32' };
const TEXT = 'The quick brown fox jumps over the lazy dog. It was not amused, and neither were the other animals of the farm.';

/** One session: every model embeds, shows attention or summarises twice over; prints the process's RSS after. */
async function session(limits: ModelLimits): Promise<void> {
  const client = new ModelWorkerClient({ workerScript, env: modelLimitsEnv(limits) });
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  for (let round = 0; round < 2; round++) {
    for (const model of ENCODERS) {
      await client.request({ type: 'embed', model, texts: [TEXT, TEXT.slice(0, 40)] });
      if (model.ref !== 'fused-attention') await client.request({ type: 'attention', model, text: TEXT });
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    await client.request({ type: 'generate', model: SEQ2SEQ, text: TEXT, options: { maxNewTokens: 8 } });
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  // Let the worker fall idle and trim (it trims when its last request ends).
  await new Promise((r) => setTimeout(r, 500));
  if (global.gc) global.gc();
  const after = process.memoryUsage().rss;
  await client.dispose();
  console.log(JSON.stringify({ maxLoaded: limits.maxLoaded, rssAfterMiB: after / 2 ** 20, peakMiB: peak / 2 ** 20, baseMiB: rssBefore / 2 ** 20 }));
}

function measure(maxLoaded: number): { maxLoaded: number; rssAfterMiB: number; peakMiB: number; baseMiB: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--session', String(maxLoaded)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`session with maxLoaded=${maxLoaded} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ReturnType<typeof measure>;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--session');
  if (at !== -1) return session({ maxLoaded: Number(process.argv[at + 1]), idleMs: 0 });
  console.log('Five models (bundled:use-lite, tiny-bert, tiny-bert-wide, fused-attention, tiny-t5), each used twice; RSS of the process holding the worker');
  const rows: ReturnType<typeof measure>[] = [];
  for (let round = 0; round < 3; round++) for (const maxLoaded of [3, 64]) rows.push(measure(maxLoaded));
  for (const maxLoaded of [3, 64]) {
    const mine = rows.filter((r) => r.maxLoaded === maxLoaded);
    const median = (key: 'rssAfterMiB' | 'peakMiB'): number => mine.map((r) => r[key]).sort((a, b) => a - b)[1]!;
    console.log(`maxLoaded ${String(maxLoaded).padStart(2)}: RSS after ${median('rssAfterMiB').toFixed(0)} MiB, peak ${median('peakMiB').toFixed(0)} MiB (median of 3)`);
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
