// `bert-lens index` end to end (listing, reading, chunking, embedding in the worker, writing the store), two builds of
// the CLI back to back, alternating over several rounds, each time into a fresh store. Prints passages/s (chunks
// embedded over the CLI's own wall time) per build, medians, and the ratio.
//
//   node out/bench/indexEndToEnd.js --cli OLD/dist/cli.js,NEW/dist/cli.js --corpus DIR --model ./FOLDER|bundled:use-lite
//     [--dtype fp32|q8] [--rounds 3]
//
// Build each tree with `node esbuild.js --production` first (e.g. `git archive <commit> | tar -x -C /tmp/old`, with
// node_modules linked).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { percentile } from '../harness/bench';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1]!;
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

interface IndexSummary {
  readonly chunksEmbedded: number;
  readonly files: number;
  readonly ms: number;
}

function indexOnce(cli: string, corpus: string, model: string, dtype: string): IndexSummary {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-e2e-'));
  try {
    const out = execFileSync(process.execPath, [cli, 'index', corpus, '--model', model, '--dtype', dtype, '--offline', '--store', store, '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
    });
    return JSON.parse(out.trim().split('\n').at(-1)!) as IndexSummary;
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
}

function main(): void {
  const clis = arg('cli').split(',');
  const corpus = arg('corpus');
  const model = arg('model');
  const dtype = arg('dtype', 'fp32');
  const rounds = Number(arg('rounds', '3'));
  const rates = new Map<string, number[]>(clis.map((c) => [c, []]));
  console.log(`bert-lens index end to end · ${corpus} · ${model} ${dtype} · ${os.cpus().length} cores · load ${os.loadavg()[0]!.toFixed(1)}`);
  for (let round = 0; round < rounds; round++) {
    for (const cli of round % 2 === 0 ? clis : [...clis].reverse()) {
      const s = indexOnce(cli, corpus, model, dtype);
      const rate = (s.chunksEmbedded / s.ms) * 1000;
      rates.get(cli)!.push(rate);
      console.log(`  round ${round + 1}: ${cli}: ${s.chunksEmbedded} passages from ${s.files} files in ${(s.ms / 1000).toFixed(1)} s: ${rate.toFixed(1)} passages/s`);
    }
  }
  const medians = clis.map((c) => percentile(rates.get(c)!, 50));
  clis.forEach((c, i) => console.log(`${c}: median ${medians[i]!.toFixed(1)} passages/s`));
  if (medians.length === 2) console.log(`ratio ${clis[1]} / ${clis[0]}: ${(medians[1]! / medians[0]!).toFixed(2)}× (load ${os.loadavg()[0]!.toFixed(1)})`);
}

main();
