import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { launchBrowser, openWorkbench, poll, runCommand, screenshot, startCodeServer, type CodeServer } from '../harness/codeServer';
import { fixtureModel, repoRoot } from '../harness/paths';
import { loadReference } from '../harness/reference';

const workspace = path.join(repoRoot, 'test', 'fixtures', 'demo-workspace');
const reference = loadReference('tiny-bert');
/** README.md line 6 of the demo workspace is exactly this reference sentence. */
const sentence = reference.items[0]!;

async function openFileAtLine(page: Page, file: string, line: number): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`${file}:${line}`);
  await page.locator('.quick-input-widget .monaco-list-row').first().waitFor({ state: 'visible' });
  await input.press('Enter');
  await page.locator('.monaco-editor .view-lines').first().waitFor({ state: 'visible' });
}

/** Hovers the centre of cell (query, key) of the heatmap canvas and returns the weight the view reports. */
async function weightAt(view: FrameLocator, query: number, key: number, n: number): Promise<number> {
  const canvas = view.locator('canvas.heatmap-canvas');
  const box = await canvas.boundingBox();
  assert.ok(box, 'heatmap canvas is visible');
  const cell = box.width / n;
  await canvas.hover({ position: { x: (key + 0.5) * cell, y: (query + 0.5) * cell } });
  const readout = view.locator('#readout');
  await poll(async () => (await readout.getAttribute('data-query')) === String(query) && (await readout.getAttribute('data-key')) === String(key), { what: `readout of cell ${query},${key}` });
  return Number(await readout.getAttribute('data-weight'));
}

describe('Attention view in code-server (browser)', function () {
  this.timeout(180_000);
  let server: CodeServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    server = await startCodeServer({ workspace, settings: { 'bertLens.model': fixtureModel('tiny-bert') } });
    browser = await launchBrowser();
    page = await openWorkbench(browser, server, { folder: workspace, extensionDevelopmentPath: repoRoot });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await screenshot(page, `failed-${this.currentTest.title}`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('inspects the selection from the command palette and shows real attention weights', async () => {
    await openFileAtLine(page, 'README.md', 6);
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await runCommand(page, 'BERT Lens: Inspect Attention of Selection');

    const view = await poll(async () => {
      const frames = page.locator('iframe.webview');
      for (let i = 0; i < (await frames.count()); i++) {
        const inner = frames.nth(i).contentFrame().locator('iframe#active-frame').contentFrame();
        if ((await inner.locator('.token-label.row').count()) > 0) return inner;
      }
      return undefined;
    }, { timeoutMs: 60_000, what: 'attention heatmap in a webview' });

    const tokens = await view.locator('.token-label.row').allTextContents();
    assert.deepEqual(tokens, sentence.tokens);
    await poll(async () => (await view.locator('.header .source').textContent())?.startsWith('README.md:6'), { what: 'source label' });
    const n = tokens.length;

    // Layer 1, head 1 is shown first.
    const w = await weightAt(view, 3, 2, n);
    assert.ok(Math.abs(w - sentence.attentions![0]![0]![3]![2]!) < 1e-4, `weight ${w} vs PyTorch ${sentence.attentions![0]![0]![3]![2]}`);
    const tooltip = await view.locator('.tooltip').textContent();
    assert.equal(tooltip, `${sentence.tokens[3]} → ${sentence.tokens[2]}: ${w.toFixed(4)}`);

    // Pick layer 2, head 3 and read another cell.
    await view.locator('select#layer').selectOption({ value: '1' });
    await view.locator('select#head').selectOption({ value: '2' });
    const w2 = await weightAt(view, 5, 1, n);
    assert.ok(Math.abs(w2 - sentence.attentions![1]![2]![5]![1]!) < 1e-4, `weight ${w2} vs PyTorch ${sentence.attentions![1]![2]![5]![1]}`);

    // Keyboard: from the focused cell, arrows move the cursor and the readout follows.
    await view.locator('canvas.heatmap-canvas').focus();
    await view.locator('canvas.heatmap-canvas').press('ArrowDown');
    await view.locator('canvas.heatmap-canvas').press('ArrowRight');
    const readout = view.locator('#readout');
    await poll(async () => (await readout.getAttribute('data-query')) === '6' && (await readout.getAttribute('data-key')) === '2', { what: 'keyboard cursor at 6,2' });
    const w3 = Number(await readout.getAttribute('data-weight'));
    assert.ok(Math.abs(w3 - sentence.attentions![1]![2]![6]![2]!) < 1e-4);

    await screenshot(page, 'attention-view');
  });
});
