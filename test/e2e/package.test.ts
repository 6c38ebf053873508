import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { attentionView, installExtension, launchBrowser, openWorkbench, pageConsole, poll, runCommand, screenshot, startCodeServer, testOutputDir, webviewFrame, type CodeServer } from '../harness/codeServer';
import type { AttentionMaps } from '../../src/protocol/attention';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import { repoRoot, workerScript } from '../harness/paths';

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; publisher: string; version: string };
const vsixFile = (target: string): string =>
  path.join(repoRoot, 'out', 'vsix', target === 'universal' ? `${manifest.name}-${manifest.version}.vsix` : `${manifest.name}-${target}-${manifest.version}.vsix`);

/** A small workspace: prose to inspect and passages to search, none sharing a word with the query. */
const FILES: Record<string, string> = {
  'notes/sentence.md': '# Notes\n\nThe quick brown fox jumps over the lazy dog.\n',
  'docs/security.md': '# Security\n\nLock your screen when you leave your desk, and report lost laptops to IT at once.\n',
  'docs/baking.md': '# Sourdough\n\nMix flour, water and salt with the starter and let the dough rise overnight.\n',
  'docs/travel.md': '# Trip to the coast\n\nThe ferry to the island leaves twice a day; the last boat back is at six.\n',
};
const QUERY = 'what to do if my computer is stolen';

/** The packaged extension, as `code-server --install-extension` unpacked it. */
function installedDir(extensionsDir: string): string {
  const prefix = `${manifest.publisher}.${manifest.name}-${manifest.version}`;
  const dir = fs.readdirSync(extensionsDir).find((d) => d.startsWith(prefix));
  assert.ok(dir, `${prefix}* in ${extensionsDir}: ${fs.readdirSync(extensionsDir).join(', ')}`);
  return path.join(extensionsDir, dir);
}

/** Normally built by scripts/test.mjs before the browser tier; a standalone run builds it here (~10 s). */
function ensurePackage(target: string): string {
  const file = vsixFile(target);
  if (!fs.existsSync(file)) {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'package.mjs'), '--targets', target], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 0, `packaging failed:\n${r.stdout}\n${r.stderr}`);
  }
  return file;
}

/** What BERT Lens wrote to its output channel in this code-server (the extension host's log files). */
function extensionLog(server: CodeServer): string {
  if (!fs.existsSync(server.logsDir)) return '';
  return filesUnder(server.logsDir)
    .filter((f) => f.endsWith('BERT Lens.log'))
    .map((f) => fs.readFileSync(path.join(server.logsDir, f), 'utf8'))
    .join('\n');
}

/** Opens `file` at `line` with Quick Open and selects that line. */
async function selectLine(page: Page, file: string, line: number): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`${file}:${line}`);
  await poll(async () => (await page.locator('.quick-input-widget .monaco-list-row .label-name').first().textContent())?.trim() === path.basename(file), { what: `${file} in Quick Open` });
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  await page.locator('.monaco-editor .view-lines').first().waitFor({ state: 'visible' });
  await page.keyboard.press('Control+L');
}

/**
 * Inspects line 3 of notes/sentence.md with the command palette and checks the Attention view against `expected`
 * (the development build's worker, native runtime): the tokens, and one heatmap cell within 1e-4.
 */
async function checkAttention(page: Page, expected: AttentionMaps): Promise<void> {
  await selectLine(page, 'notes/sentence.md', 3);
  await runCommand(page, 'BERT Lens: Inspect Attention of Selection');
  const view = await attentionView(page);
  await poll(async () => (await view.locator('.header .source').textContent()) === 'sentence.md:3', { timeoutMs: 60_000, what: 'the view to show sentence.md:3' });
  assert.match((await view.locator('.header .meta').textContent()) ?? '', /^bundled:use-lite · \d+ tokens · 2 layers × 4 heads/);
  // Labels are what the user wrote (the text each token covers), not the tokenizer's pieces ('▁The').
  const source = FILES['notes/sentence.md']!.split('\n')[2]!;
  assert.deepEqual(await view.locator('.token-label.row').allTextContents(), expected.tokens.map((t) => (t.special ? t.text : source.slice(t.start, t.end))));
  const m = expected.tokens.length;
  const canvas = view.locator('canvas.heatmap-canvas');
  const box = await canvas.boundingBox();
  assert.ok(box);
  await canvas.hover({ position: { x: (1 + 0.5) * (box.width / m), y: (2 + 0.5) * (box.width / m) } });
  const readout = view.locator('#readout');
  await poll(async () => (await readout.getAttribute('data-query')) === '2' && (await readout.getAttribute('data-key')) === '1', { what: 'readout of cell 2,1' });
  const weight = Number(await readout.getAttribute('data-weight'));
  assert.ok(Math.abs(weight - expected.weights[2 * m + 1]!) < 1e-4, `${weight} vs ${expected.weights[2 * m + 1]}`);
}

/** The bundled encoder's attention for line 3 of notes/sentence.md, from the development build (native runtime). */
async function referenceAttention(): Promise<AttentionMaps> {
  const client = new ModelWorkerClient({ workerScript });
  try {
    return await client.request({ type: 'attention', model: { ref: 'bundled:use-lite', dir: '', dtype: 'fp32' }, text: FILES['notes/sentence.md']!.split('\n')[2]! });
  } finally {
    await client.dispose();
  }
}

/** Installs `vsix` with `code-server --install-extension` and opens the workbench on a fresh workspace, offline. */
async function installAndOpen(vsix: string): Promise<{ workspace: string; extensionsDir: string; server: CodeServer; browser: Browser; page: Page }> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-vsix-ws-'));
  for (const [rel, text] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
    fs.writeFileSync(path.join(workspace, rel), text);
  }
  const extensionsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-vsix-ext-'));
  await installExtension(vsix, { extensionsDir });
  // No network and no model download: the bundled encoder, as a first-time user offline would have it.
  const server = await startCodeServer({ workspace, extensionsDir, settings: { 'bertLens.model': 'bundled:use-lite', 'bertLens.allowDownloads': false } });
  const browser = await launchBrowser();
  const page = await openWorkbench(browser, server, { folder: workspace });
  return { workspace, extensionsDir, server, browser, page };
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}


describe('the linux-x64 VSIX installed into code-server (browser)', function () {
  this.timeout(300_000);
  let vsix: string;
  let env: Awaited<ReturnType<typeof installAndOpen>>;

  before(async () => {
    vsix = ensurePackage('linux-x64');
    env = await installAndOpen(vsix);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && env?.page) {
      await screenshot(env.page, `failed-vsix-${this.currentTest.title}`);
      fs.writeFileSync(path.join(testOutputDir('e2e'), `failed-vsix-${this.currentTest.title.replace(/\W+/g, '_')}.console.log`), pageConsole(env.page).join('\n'));
    }
  });

  after(async () => {
    await env?.browser.close();
    await env?.server.stop();
    for (const dir of [env?.workspace, env?.extensionsDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs a package under 50 MB holding only the runtime files and its own native binaries', () => {
    assert.ok(fs.statSync(vsix).size < 50 * 1024 * 1024, `${(fs.statSync(vsix).size / 1048576).toFixed(1)} MB`);
    const files = filesUnder(installedDir(env.extensionsDir));
    for (const needed of ['package.json', 'dist/extension.js', 'dist/worker.js', 'dist/use-lite/model.json', 'dist/ort-wasm/ort-wasm-simd-threaded.wasm', 'dist/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'dist/node_modules/onnxruntime-common/dist/cjs/index.js']) {
      assert.ok(files.includes(needed), `${needed} is installed`);
    }
    const binaries = [...new Set(files.map((f) => /napi-v6\/([^/]+\/[^/]+)\//.exec(f)?.[1]).filter(Boolean))];
    assert.deepEqual(binaries, ['linux/x64']);
    const stray = files.filter((f) => /^(src|test|webview-ui|scripts|out)\/|\.map$|\.ts$/.test(f) || f.startsWith('node_modules/'));
    assert.deepEqual(stray, [], 'no sources, tests, source maps or top-level node_modules');
    // Test hooks are compiled out of the shipped bundles (issue 14 item 8).
    for (const bundle of ['dist/extension.js', 'dist/worker.js']) {
      const code = fs.readFileSync(path.join(installedDir(env.extensionsDir), bundle), 'utf8');
      assert.ok(!code.includes('BERT_LENS_WORKER_FAULT') && !code.includes('Injected worker crash'), `${bundle} carries the worker fault hook`);
    }
  });

  it('shows the bundled encoder’s attention maps, on the native onnxruntime it carries', async () => {
    await checkAttention(env.page, await referenceAttention());
    await poll(() => extensionLog(env.server).includes('models run on the native onnxruntime'), { what: 'the log line of the native runtime' });
    await screenshot(env.page, 'vsix-attention');
  });

  it('shows the model in the status bar; the item opens the model picker; the downloaded models can be listed', async () => {
    const item = env.page.locator('[aria-label^="BERT Lens model USE lite (bundled)"]').first();
    await poll(async () => (await item.getAttribute('aria-label')) === 'BERT Lens model USE lite (bundled): ready', { what: 'the status-bar item, ready' });
    await item.click();
    const widget = env.page.locator('.quick-input-widget');
    const rows = widget.locator('.monaco-list-row .label-name');
    await widget.waitFor({ state: 'visible' });
    await poll(async () => (await rows.count()) > 0, { what: 'picker rows' });
    // With the summary settings contributed, the picker asks for the role first.
    if ((await rows.allTextContents()).some((t) => t.includes('Embeddings & attention'))) {
      await rows.filter({ hasText: 'Embeddings & attention' }).first().click();
      await poll(async () => (await rows.allTextContents()).some((t) => t.includes('Universal Sentence Encoder lite')), { what: 'the model list' });
    }
    const text = (await widget.textContent()) ?? '';
    assert.match(text, /Universal Sentence Encoder lite \(bundled, offline\)/);
    assert.match(text, /Known transformers\.js models \(not verified offline\)/);
    assert.match(text, /Xenova\/all-MiniLM-L6-v2/);
    await screenshot(env.page, 'vsix-model-picker');
    await env.page.keyboard.press('Escape');
    await widget.waitFor({ state: 'hidden' });

    await runCommand(env.page, 'BERT Lens: Manage Downloaded Models');
    await poll(async () => (await rows.allTextContents()).some((t) => t.includes('No models downloaded yet')), { what: 'the (empty) list of downloaded models' });
    assert.ok((await rows.allTextContents()).some((t) => t.includes('Copy the Model Folder Path')));
    await env.page.keyboard.press('Escape');
  });

  it('finds a passage by meaning with the bundled encoder (semantic search)', async () => {
    const contributed = JSON.parse(fs.readFileSync(path.join(installedDir(env.extensionsDir), 'package.json'), 'utf8')) as { contributes: { commands: { command: string }[] } };
    assert.ok(contributed.contributes.commands.some((c) => c.command === 'bertLens.search'), 'the packaged manifest contributes Semantic Search');
    await runCommand(env.page, 'BERT Lens: Semantic Search');
    const view = await webviewFrame(env.page, async (f) => (await f.locator('#query').count()) > 0, { timeoutMs: 30_000 });
    await view.locator('#query').pressSequentially(QUERY, { delay: 20 });
    const top = view.locator('.hit').first();
    await poll(async () => (await top.getAttribute('title'))?.startsWith('docs/security.md:'), { timeoutMs: 90_000, what: 'docs/security.md as the top result' });
    assert.match((await top.locator('.why').textContent()) ?? '', /similarity 0\.\d+/);
    await screenshot(env.page, 'vsix-search');
  });
});

describe('the universal VSIX (WebAssembly runtime only) installed into code-server (browser)', function () {
  this.timeout(300_000);
  let env: Awaited<ReturnType<typeof installAndOpen>>;

  before(async () => {
    env = await installAndOpen(ensurePackage('universal'));
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && env?.page) await screenshot(env.page, `failed-vsix-wasm-${this.currentTest.title}`);
  });

  after(async () => {
    await env?.browser.close();
    await env?.server.stop();
    for (const dir of [env?.workspace, env?.extensionsDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('carries no native binary', () => {
    assert.deepEqual(filesUnder(installedDir(env.extensionsDir)).filter((f) => f.includes('node_modules') || f.endsWith('.node')), []);
  });

  it('shows the same attention maps as the native runtime (within 1e-4), and says once that it runs on WebAssembly', async () => {
    await checkAttention(env.page, await referenceAttention());
    await poll(() => /models run on onnxruntime-web \(WebAssembly\) because the native onnxruntime cannot load/.test(extensionLog(env.server)), { what: 'the log line of the fallback' });
    const toast = env.page.locator('.notifications-toasts .notification-list-item-message', { hasText: 'BERT Lens runs its models on WebAssembly' });
    await toast.first().waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await toast.count(), 1);
    await screenshot(env.page, 'vsix-wasm-attention');
  });
});
