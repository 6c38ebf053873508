// Attention view render times in a real code-server + Chromium, for inputs of 64, 256 and 512 tokens on a
// MiniLM-size random BERT (6 layers × 12 heads). Prints, per size: request → heatmap shown (wall clock), and the
// view's own render time for each tab (data-render-ms, measured inside the webview).
//
//   node esbuild.js && node out/bench/attentionView.js
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import type { LocalModel } from '../../src/protocol/worker';
import { launchBrowser, openWorkbench, poll, runCommand, screenshot, startCodeServer } from '../harness/codeServer';
import { repoRoot, workerScript } from '../harness/paths';

const SIZES = [64, 256, 512];

function ensureMiniLm(): string {
  const dir = path.join(repoRoot, '.cache', 'minilm');
  if (!fs.existsSync(path.join(dir, 'onnx', 'model.onnx'))) {
    execFileSync('/usr/bin/python3', [path.join(repoRoot, 'scripts/fixtures/make_bert.py'), '--minilm', dir], { stdio: 'inherit' });
  }
  return dir;
}

async function textWithTokens(client: ModelWorkerClient, model: LocalModel, tokens: number): Promise<string> {
  const words = 'the model reads every token of this sentence and attends to the others in each layer'.split(' ');
  let lo = 1;
  let hi = tokens * 2;
  const make = (count: number): string => Array.from({ length: count }, (_, i) => words[i % words.length]).join(' ');
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    const maps = await client.request({ type: 'attention', model, text: make(mid) });
    if (maps.inputTokens <= tokens) lo = mid;
    else hi = mid - 1;
  }
  return make(lo);
}

async function view(page: Page): Promise<FrameLocator> {
  return poll(async () => {
    const frames = page.locator('iframe.webview');
    for (let i = 0; i < (await frames.count()); i++) {
      const inner = frames.nth(i).contentFrame().locator('iframe#active-frame').contentFrame();
      if ((await inner.locator('.toolbar .tabs').count()) > 0) return inner;
    }
    return undefined;
  }, { timeoutMs: 60_000, what: 'attention view' });
}

async function main(): Promise<void> {
  const dir = ensureMiniLm();
  const client = new ModelWorkerClient({ workerScript });
  const model: LocalModel = { ref: 'minilm', dir, dtype: 'fp32' };
  const lines = [];
  for (const size of SIZES) lines.push(await textWithTokens(client, model, size));
  await client.dispose();
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-bench-ws-'));
  fs.writeFileSync(path.join(workspace, 'inputs.txt'), lines.join('\n') + '\n');

  const server = await startCodeServer({ workspace, settings: { 'bertLens.model': dir, 'editor.wordWrap': 'on' } });
  const browser = await launchBrowser();
  try {
    const page = await openWorkbench(browser, server, { folder: workspace, extensionDevelopmentPath: repoRoot });
    console.log(`model: MiniLM-size random BERT (6 layers × 12 heads, hidden 384), fp32; Chromium ${browser.version()}`);
    for (let i = 0; i < SIZES.length; i++) {
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await input.fill(`inputs.txt:${i + 1}`);
      await page.locator('.quick-input-widget .monaco-list-row').first().waitFor();
      await input.press('Enter');
      await page.keyboard.press('Control+L');
      const started = Date.now();
      await runCommand(page, 'BERT Lens: Inspect Attention of Selection');
      const v = await view(page);
      await poll(async () => (await v.locator('.header .meta').textContent())?.includes(` ${SIZES[i]} tokens`), { timeoutMs: 60_000, what: `${SIZES[i]} tokens shown` });
      await v.locator('#tab-heatmap').click();
      await v.locator('canvas.heatmap-canvas').waitFor();
      const shown = Date.now() - started;
      const times: string[] = [];
      for (const tab of ['heatmap', 'heads', 'model', 'rollout']) {
        await v.locator(`#tab-${tab}`).click();
        await poll(async () => (await v.locator('#app').getAttribute('data-tab')) === tab, { what: tab });
        // Render again on the same tab so the figure is a steady-state render, not the first layout.
        await v.locator('select#layer').selectOption({ index: 1 }).catch(() => undefined);
        const ms = Number(await v.locator('#app').getAttribute('data-render-ms'));
        times.push(`${tab} ${ms.toFixed(1)} ms`);
      }
      const transfer = Number(await v.locator('#app').getAttribute('data-transfer-ms'));
      const modelMs = Number(/· (\d+) ms$/.exec((await v.locator('.header .meta').textContent()) ?? '')?.[1]);
      const n = SIZES[i]!;
      const thumb = Math.min(n, 64);
      const sentMiB = ((12 + 6) * n * n * 2 + 6 * 12 * thumb * thumb) / 2 ** 20;
      const fullMiB = (6 * 12 * n * n * 4) / 2 ** 20;
      const heatmapMs = Number(times[0]!.split(' ')[1]);
      console.log(
        `${n} tokens: request → heatmap drawn ${Math.round(modelMs + transfer + heatmapMs)} ms (model + packing ${modelMs} ms, transfer of ${sentMiB.toFixed(1)} MiB instead of ${fullMiB.toFixed(1)} MiB ${transfer} ms); ` +
          `with the command palette ${shown} ms; render: ${times.join(', ')}`,
      );
      await screenshot(page, `bench-attention-${SIZES[i]}`);
    }
  } finally {
    await browser.close();
    await server.stop();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
