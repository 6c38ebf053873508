import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { headMap, rolloutRow } from '../../src/core/attention/aggregate';
import { attentionView, launchBrowser, openWorkbench, pageConsole, poll, runCommand, screenshot, startCodeServer, testOutputDir, type CodeServer } from '../harness/codeServer';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import { fixtureModel, repoRoot, workerScript } from '../harness/paths';
import { loadReference } from '../harness/reference';

const workspace = path.join(repoRoot, 'test', 'fixtures', 'demo-workspace');
const reference = loadReference('tiny-bert');
/** README.md line 6 of the demo workspace is exactly this reference sentence. */
const sentence = reference.items[0]!;
const n = sentence.tokens.length;
/** The labels the view shows: the text each token covers in the sentence (case kept), special tokens by name. */
const labels = ['[CLS]', ...sentence.text.replace('.', ' .').split(' '), '[SEP]'];
const at = (layer: number, head: number, q: number, k: number): number => sentence.attentions![layer]![head]![q]![k]!;

async function goToLine(page: Page, file: string, line: number): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`${file}:${line}`);
  await page.locator('.quick-input-widget .monaco-list-row').first().waitFor({ state: 'visible' });
  await input.press('Enter');
  // Keys typed before quick open has closed would go to it, not to the editor.
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  await page.locator('.monaco-editor .view-lines').first().waitFor({ state: 'visible' });
  await poll(async () => (await page.locator('.monaco-workbench .part.statusbar').textContent())?.includes(`Ln ${line},`), { what: `cursor on line ${line}` });
}

/** Selects a whole logical line (Ctrl+L also takes the line break; BERT Lens trims it). */
async function selectLine(page: Page, file: string, line: number): Promise<void> {
  await goToLine(page, file, line);
  await page.keyboard.press('Control+L');
}


async function waitForSource(view: FrameLocator, label: string): Promise<void> {
  await poll(async () => (await view.locator('.header .source').textContent()) === label, { timeoutMs: 30_000, what: `source label ${label}` });
}

/** Hovers the centre of heatmap cell (row, col) and returns the readout's weight. */
async function weightAt(view: FrameLocator, row: number, col: number, size: number): Promise<number> {
  const canvas = view.locator('canvas.heatmap-canvas');
  const box = await canvas.boundingBox();
  assert.ok(box, 'heatmap canvas is visible');
  const cell = box.width / size;
  await canvas.hover({ position: { x: (col + 0.5) * cell, y: (row + 0.5) * cell } });
  const readout = view.locator('#readout');
  await poll(async () => (await readout.getAttribute('data-query')) === String(row) && (await readout.getAttribute('data-key')) === String(col), { what: `readout of cell ${row},${col}` });
  return Number(await readout.getAttribute('data-weight'));
}

async function setRange(view: FrameLocator, selector: string, value: number): Promise<void> {
  await view.locator(selector).evaluate((el, v) => {
    (el as HTMLInputElement).value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-4, `${what}: ${actual} vs PyTorch ${expected}`);
}

describe('Attention view in code-server (browser)', function () {
  this.timeout(180_000);
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let view: FrameLocator;

  before(async () => {
    server = await startCodeServer({ workspace, settings: { 'bertLens.model': fixtureModel('tiny-bert') } });
    browser = await launchBrowser();
    page = await openWorkbench(browser, server, { folder: workspace, extensionDevelopmentPath: repoRoot });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      await screenshot(page, `failed-${this.currentTest.title}`);
      fs.writeFileSync(path.join(testOutputDir('e2e'), `failed-${this.currentTest.title.replace(/\W+/g, '_')}.console.log`), pageConsole(page).join('\n'));
    }
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('inspects the selection from the command palette and shows real attention weights in the heatmap', async () => {
    await selectLine(page, 'README.md', 6);
    await runCommand(page, 'BERT Lens: Inspect Attention of Selection');
    view = await attentionView(page);
    await waitForSource(view, 'README.md:6');
    assert.equal(labels.length, n);
    assert.deepEqual(await view.locator('.token-label.row').allTextContents(), labels);
    assert.ok(await view.locator('#hide-special').isVisible(), 'a BERT model has [CLS]/[SEP]: the filter for them is offered');

    const w = await weightAt(view, 3, 2, n);
    close(w, at(0, 0, 3, 2), 'layer 1 head 1 cell (3,2)');
    assert.equal(await view.locator('.tooltip').textContent(), `${labels[3]} → ${labels[2]}: ${w.toFixed(4)}`);

    await view.locator('select#layer').selectOption({ value: '1' });
    await view.locator('select#head').selectOption({ value: '2' });
    close(await weightAt(view, 5, 1, n), at(1, 2, 5, 1), 'layer 2 head 3 cell (5,1)');

    // Keyboard: focusing the map starts at the hovered cell; arrows move it and the readout follows.
    const canvas = view.locator('canvas.heatmap-canvas');
    await canvas.focus();
    await canvas.press('ArrowDown');
    await canvas.press('ArrowRight');
    const readout = view.locator('#readout');
    await poll(async () => (await readout.getAttribute('data-query')) === '6' && (await readout.getAttribute('data-key')) === '2', { what: 'keyboard cursor at 6,2' });
    close(Number(await readout.getAttribute('data-weight')), at(1, 2, 6, 2), 'keyboard cell (6,2)');

    // Mean over heads.
    await view.locator('select#head').selectOption({ value: 'mean' });
    const mean = [0, 1, 2, 3].reduce((s, h) => s + at(1, h, 4, 4), 0) / 4;
    close(await weightAt(view, 4, 4, n), mean, 'mean of heads (4,4)');
    await screenshot(page, 'attention-heatmap');
  });

  it('links tokens and the editor both ways', async () => {
    // Clicking a token label highlights its range in the editor.
    await view.locator('.token-label.row[data-index="3"]').click();
    const decoration = await poll(
      async () => {
        const boxes = await page.locator('.monaco-editor .view-overlays .cdr').evaluateAll((els) =>
          els.map((e) => (e as HTMLElement).getBoundingClientRect()).filter((r) => r.width > 0).map((r) => ({ left: r.left, width: r.width, top: r.top })),
        );
        return boxes.length === 1 ? boxes[0] : undefined;
      },
      { what: 'one token decoration in the editor' },
    );
    // Measure where "brown" (characters 10-15 of line 6) is drawn and compare with the decoration.
    const expected = await page.evaluate(() => {
      const lines = [...document.querySelectorAll('.monaco-editor .view-lines .view-line')] as HTMLElement[];
      const line = lines.find((l) => l.textContent?.replace(/\u00a0/g, ' ') === 'The quick brown fox jumps over the lazy dog.');
      if (!line) return undefined;
      const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      let offset = 0;
      const range = document.createRange();
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent ?? '';
        if (offset + text.length > 10) {
          range.setStart(node, 10 - offset);
          range.setEnd(node, 15 - offset);
          break;
        }
        offset += text.length;
      }
      const r = range.getBoundingClientRect();
      return { left: r.left, width: r.width, top: r.top };
    });
    assert.ok(expected, 'found line 6 in the editor');
    assert.ok(Math.abs(decoration.left - expected.left) < 2 && Math.abs(decoration.width - expected.width) < 2, `decoration ${JSON.stringify(decoration)} vs "brown" ${JSON.stringify(expected)}`);

    // Putting the caret inside "jumps" marks that token in the view.
    await goToLine(page, 'README.md', 6);
    await page.keyboard.press('Home');
    for (let i = 0; i < 22; i++) await page.keyboard.press('ArrowRight');
    await poll(async () => (await page.locator('.monaco-workbench .part.statusbar').textContent())?.includes('Ln 6, Col 23'), { what: 'caret in "jumps"' });
    await poll(async () => (await view.locator('.token-label.row.cursor-token').textContent()) === 'jumps', { what: 'cursor token "jumps" in the view' });
  });

  it('head view: token columns, one line per head and pair, head toggles, hover', async () => {
    await view.locator('#tab-heads').click();
    await view.locator('select#layer').selectOption({ value: '0' });
    assert.deepEqual(await view.locator('.head-tokens.left .token-label').allTextContents(), labels);
    const threshold = 0.1;
    await setRange(view, '#threshold', threshold);
    const count = (heads: number[], query?: number): number => {
      let c = 0;
      for (const h of heads) for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) if ((query === undefined || q === query) && at(0, h, q, k) >= threshold) c++;
      return c;
    };
    const lines = (): Promise<number> => view.locator('canvas.head-lines').getAttribute('data-lines').then(Number);
    await poll(async () => (await lines()) === count([0, 1, 2, 3]), { what: `all heads: ${count([0, 1, 2, 3])} lines` });
    await view.locator('.head-toggle[data-head="1"]').click();
    await poll(async () => (await lines()) === count([0, 2, 3]), { what: `head 2 off: ${count([0, 2, 3])} lines` });
    assert.notEqual(count([0, 2, 3]), count([0, 1, 2, 3]), 'the toggle must change the count for this check to mean anything');
    await view.locator('.head-tokens.left .token-label[data-index="4"]').hover();
    await poll(async () => (await lines()) === count([0, 2, 3], 4), { what: 'only the hovered token’s lines' });
    await view.locator('.head-toggle.all').click();
    await screenshot(page, 'attention-heads');
  });

  it('model view: every layer and head, hover reads a weight, click opens the head view', async () => {
    await view.locator('#tab-model').click();
    assert.equal(await view.locator('canvas.model-thumb').count(), 2 * 4);
    const thumb = view.locator('canvas.model-thumb[data-layer="1"][data-head="2"]');
    const box = (await thumb.boundingBox())!;
    await thumb.hover({ position: { x: box.width * ((2 + 0.5) / n), y: box.height * ((7 + 0.5) / n) } });
    const readout = view.locator('#readout');
    await poll(async () => (await readout.textContent())?.startsWith('Layer 2, head 3'), { what: 'model view readout' });
    const q = Number(await readout.getAttribute('data-query'));
    const k = Number(await readout.getAttribute('data-key'));
    assert.deepEqual([q, k], [7, 2]);
    close(Number(await readout.getAttribute('data-weight')), at(1, 2, 7, 2), 'model view cell');
    await screenshot(page, 'attention-model');
    await thumb.click();
    await poll(async () => (await view.locator('#tab-heads').getAttribute('aria-selected')) === 'true', { what: 'head view opened' });
    assert.equal(await view.locator('select#layer').inputValue(), '1');
    assert.deepEqual(await view.locator('.head-toggle[aria-pressed="true"]:not(.all)').evaluateAll((b) => b.map((e) => (e as HTMLElement).dataset.head)), ['2']);
  });

  it('rollout view: what a token draws on, matching the rollout computation', async () => {
    await view.locator('#tab-rollout').click();
    await view.locator('.rollout-token[data-index="5"]').click();
    const weights = Float32Array.from(sentence.attentions!.flat(3));
    const expected = rolloutRow(weights, { layers: 2, heads: 4, n }, 5, 1);
    await poll(async () => (await view.locator('.rollout-token.query').getAttribute('data-index')) === '5', { what: 'query token 5' });
    for (const k of [0, 3, 8]) close(Number(await view.locator(`.rollout-token[data-index="${k}"]`).getAttribute('data-weight')), expected[k]!, `rollout weight of token ${k}`);
    assert.ok(headMap(weights, { layers: 2, heads: 4, n }, 0, 0).length === n * n);
    await screenshot(page, 'attention-rollout');
  });

  it('follows the selection, and stops when pinned', async () => {
    await view.locator('#tab-heatmap').click();
    await selectLine(page, 'README.md', 8);
    await waitForSource(view, 'README.md:8');
    await view.locator('#pin').click();
    await poll(async () => (await view.locator('#pin').getAttribute('aria-pressed')) === 'true', { what: 'pinned' });
    await selectLine(page, 'README.md', 6);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await view.locator('.header .source').textContent(), 'README.md:8', 'a pinned view keeps its text');
    await view.locator('#pin').click();
    await poll(async () => (await view.locator('#pin').getAttribute('aria-pressed')) === 'false', { what: 'unpinned' });
  });

  it('moves a window over an input longer than the model reads', async () => {
    await selectLine(page, 'README.md', 10);
    await waitForSource(view, 'README.md:10');
    const label = view.locator('.window-label');
    await poll(async () => /^Tokens 1–62 of \d+$/.test((await label.textContent()) ?? ''), { what: 'first window label' });
    const total = Number(/of (\d+)/.exec((await label.textContent())!)![1]);
    assert.ok(total > 62);
    const first = await view.locator('.token-label.row').allTextContents();
    assert.equal(first.length, 64);
    assert.equal(first.at(-1), '[SEP]');
    await view.locator('#window-next').click();
    const start = Math.min(31, total - 62);
    await poll(async () => (await label.textContent()) === `Tokens ${start + 1}–${start + 62} of ${total}`, { timeoutMs: 20_000, what: 'second window label' });
    await poll(async () => (await view.locator('.token-label.row').nth(1).textContent()) === first[1 + start], { timeoutMs: 20_000, what: 'tokens of the moved window' });
    assert.equal(await view.locator('.token-label.row').count(), 64);
  });

  it('exports the current view as PNG', async () => {
    const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-export-')), 'attention.png');
    await view.locator('#export-png').click();
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    // The simple file dialog fills in its default path asynchronously: wait for it before typing ours.
    await poll(async () => (await input.inputValue()).endsWith('.png'), { what: 'the save dialog’s default name' });
    await input.fill(target);
    await poll(async () => (await input.inputValue()) === target, { what: 'our path in the save dialog' });
    // The dialog validates the typed path asynchronously and ignores OK until it has: retry until it closes.
    await poll(
      async () => {
        if (await input.isVisible()) await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click({ timeout: 1000 }).catch(() => undefined);
        return fs.existsSync(target);
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'exported PNG on disk' },
    );
    const bytes = fs.readFileSync(target);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.ok(bytes.length > 1000);
  });
});

describe('Attention view on the bundled encoder (browser)', function () {
  this.timeout(180_000);
  let server: CodeServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    server = await startCodeServer({ workspace, settings: { 'bertLens.model': 'bundled:use-lite' } });
    browser = await launchBrowser();
    page = await openWorkbench(browser, server, { folder: workspace, extensionDevelopmentPath: repoRoot });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await screenshot(page, `failed-bundled-${this.currentTest.title}`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows the bundled encoder’s real attention: tokens map to the selection, rows sum to 1', async () => {
    const client = new ModelWorkerClient({ workerScript });
    const expected = await client.request({ type: 'attention', model: { ref: 'bundled:use-lite', dir: '', dtype: 'fp32' }, text: sentence.text });
    await client.dispose();
    const m = expected.tokens.length;

    await selectLine(page, 'README.md', 6);
    await runCommand(page, 'BERT Lens: Inspect Attention of Selection');
    const view = await attentionView(page);
    await waitForSource(view, 'README.md:6');
    assert.match((await view.locator('.header .meta').textContent()) ?? '', /^bundled:use-lite · \d+ tokens · 2 layers × 4 heads/);
    // Labels are the text each piece covers, without the SentencePiece '▁'.
    const shown = await view.locator('.token-label.row').allTextContents();
    assert.deepEqual(shown, expected.tokens.map((t) => sentence.text.slice(t.start, t.end)));
    // Each token covers its own piece of the selected sentence: together they spell it, spaces aside.
    assert.equal(expected.tokens.map((t) => sentence.text.slice(t.start, t.end)).join(''), sentence.text.replace(/ /g, ''));

    await view.locator('select#layer').selectOption({ value: '1' });
    await view.locator('select#head').selectOption({ value: '3' });
    const q = 2;
    let sum = 0;
    const canvas = view.locator('canvas.heatmap-canvas');
    await weightAt(view, q, 0, m);
    await canvas.focus();
    for (let k = 0; k < m; k++) {
      const readout = view.locator('#readout');
      await poll(async () => (await readout.getAttribute('data-query')) === String(q) && (await readout.getAttribute('data-key')) === String(k), { what: `cell ${q},${k}` });
      const w = Number(await readout.getAttribute('data-weight'));
      close(w, expected.weights[((1 * 4 + 3) * m + q) * m + k]!, `bundled layer 2 head 4 cell (${q},${k})`);
      sum += w;
      await canvas.press('ArrowRight');
    }
    assert.ok(Math.abs(sum - 1) < 1e-3, `row ${q} sums to ${sum}`);
    await screenshot(page, 'attention-bundled');
  });
});
