import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { attentionView, chooseColorTheme, launchBrowser, openWorkbench, poll, runCommand, screenshot, startCodeServer, type CodeServer } from '../harness/codeServer';
import { repoRoot } from '../harness/paths';

/**
 * The Attention view at real sizes, on the bundled encoder (128 tokens, no special tokens): what part of a long
 * selection was read, labels on a paragraph of 80+ tokens, whitespace and word starts as people read them, a
 * colour legend, and a tooltip that stays inside the view (issue 13 items 1, 5, 6).
 */

/** About 85 pieces for the bundled encoder, with a line break and a tab inside. */
const PARAGRAPH = [
  'Attention maps show which tokens each token draws on when the encoder builds its representation of a passage.',
  '\tReading them at real sizes matters: a paragraph of ordinary prose easily holds eighty or ninety pieces, and every label',
  'must stay legible, with weak weights still distinguishable from the background in dark, light and high contrast themes.',
].join('\n');

/** 300,000 characters of words and line breaks: more than the 64 KiB the bundled encoder's view reads. */
const LONG_CHARS = 300_000;
function longText(): string {
  const line = 'The quick brown fox jumps over the lazy dog while the encoder reads along.\n';
  return line.repeat(Math.ceil(LONG_CHARS / line.length)).slice(0, LONG_CHARS);
}

async function openAndSelectAll(page: Page, file: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill(file);
  // Recently opened files are listed before the filter applies: pick the row of this file, not the first row.
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: file }).first().click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  await poll(async () => (await page.locator('.monaco-workbench .tab.active').textContent())?.includes(file), { what: `${file} open` });
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+A');
}

async function inspect(page: Page, file: string): Promise<FrameLocator> {
  await openAndSelectAll(page, file);
  await runCommand(page, 'BERT Lens: Inspect Attention of Selection');
  const view = await attentionView(page);
  await poll(async () => (await view.locator('.header .source').textContent())?.startsWith(`${file}:`), { timeoutMs: 60_000, what: `the view shows ${file}` });
  return view;
}

/** WCAG contrast ratio of two `rgb(…)` / `rgba(…)` colours (the alpha of either is ignored: callers pass opaque ones). */
function contrast(a: string, b: string): number {
  const luminance = (c: string): number => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const x = Number(v) / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

const THEMES: readonly (readonly [string, string])[] = [
  ['Default Dark Modern', 'vscode-dark'],
  ['Default Light Modern', 'vscode-light'],
  ['Default High Contrast', 'vscode-high-contrast'],
  ['Default High Contrast Light', 'vscode-high-contrast-light'],
];

describe('Attention view at real sizes (browser)', function () {
  this.timeout(180_000);
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let workspace: string;

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-readable-'));
    fs.writeFileSync(path.join(workspace, 'paragraph.md'), PARAGRAPH);
    fs.writeFileSync(path.join(workspace, 'long.txt'), longText());
    server = await startCodeServer({ workspace, settings: { 'bertLens.model': 'bundled:use-lite', 'bertLens.attention.followSelection': false } });
    browser = await launchBrowser();
    page = await openWorkbench(browser, server, { folder: workspace, extensionDevelopmentPath: repoRoot });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await screenshot(page, `failed-readable-${this.currentTest.title}`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('says what part of a long selection it read, in the header and the window notice', async () => {
    const view = await inspect(page, 'long.txt');
    await poll(async () => (await view.locator('.header .read').textContent())?.includes('first 64 KiB of 293 KiB'), { what: 'the read part in the header' });
    assert.match((await view.locator('.window-bar .notice').textContent()) ?? '', /first 64 KiB/);
    // The cut falls on a word boundary: the last token read is a whole word.
    const last = (await view.locator('.token-label.row').last().textContent()) ?? '';
    assert.doesNotMatch(last, /\uFFFD/);
  });

  it('labels every token of an 85-token paragraph legibly, whitespace and word starts as people read them', async () => {
    const view = await inspect(page, 'paragraph.md');
    const labels = view.locator('.token-label.row');
    await poll(async () => (await labels.count()) >= 80, { what: '80+ token labels' });
    const count = await labels.count();
    assert.ok(count <= 128, `${count} tokens fit the model without a window`);
    const styles = await labels.evaluateAll((els) =>
      els.map((e) => {
        const s = getComputedStyle(e);
        const r = e.getBoundingClientRect();
        return { visibility: s.visibility, fontSize: parseFloat(s.fontSize), height: r.height, text: e.textContent ?? '' };
      }),
    );
    for (const s of styles) {
      assert.equal(s.visibility, 'visible', `label "${s.text}" is visible`);
      assert.ok(s.fontSize >= 11, `label "${s.text}" is ${s.fontSize}px`);
      assert.ok(s.height >= 14, `label "${s.text}" row is ${s.height}px high`);
    }
    const texts = styles.map((s) => s.text);
    assert.ok(texts.some((t) => t.includes('↵')), `a line break shows as ↵: ${texts.join(' ')}`);
    assert.ok(texts.some((t) => t.includes('⇥')), `a tab shows as ⇥: ${texts.join(' ')}`);
    // Words read as in the text: the pieces of one word join up (a piece inside a word is marked as such).
    const words = await labels.evaluateAll((els) => els.map((e) => (e.classList.contains('subword') ? '' : ' ') + (e.textContent ?? '')).join(''));
    assert.match(words, /^ Attention maps show which tokens each token draws on /, 'word starts as in the text');
    for (const t of texts) assert.doesNotMatch(t, /[\uFFFD\u2581]|^##/, `label "${t}" shows no tokenizer syntax`);
    // The bundled encoder has no [CLS]/[SEP]: no filter for them.
    assert.equal(await view.locator('#hide-special').isVisible(), false, 'no [CLS]/[SEP] filter for a model without special tokens');
    // A legend says what the colours mean.
    const legend = view.locator('.heatmap-legend');
    assert.ok(await legend.isVisible(), 'the colour legend is visible');
    assert.match((await legend.textContent()) ?? '', /0.*1/);
    await screenshot(page, 'attention-readable');
  });

  it('labels and legend keep their contrast in dark, light and high-contrast themes', async () => {
    const view = await inspect(page, 'paragraph.md');
    for (const [theme, kind] of THEMES) {
      await chooseColorTheme(page, theme);
      await poll(async () => (await view.locator('body').getAttribute('class'))?.split(' ').includes(kind), { timeoutMs: 30_000, what: `the ${theme} theme in the view` });
      const colors = await view.locator('.heatmap').evaluate((el) => {
        const label = el.querySelector('.token-label.row:not(.special)')!;
        const tick = el.querySelector('.legend-tick')!;
        return {
          label: getComputedStyle(label).color,
          labels: getComputedStyle(el.querySelector('.row-labels')!).backgroundColor,
          tick: getComputedStyle(tick).color,
          body: getComputedStyle(document.body).backgroundColor,
        };
      });
      assert.doesNotMatch(colors.labels, /rgba\(.*, 0\)|transparent/, `${theme}: sticky labels have an opaque background`);
      const labelContrast = contrast(colors.label, colors.labels);
      assert.ok(labelContrast >= 4.5, `${theme}: token labels ${colors.label} on ${colors.labels} have contrast ${labelContrast.toFixed(2)}`);
      const tickContrast = contrast(colors.tick, colors.body);
      assert.ok(tickContrast >= 3, `${theme}: legend ticks ${colors.tick} on ${colors.body} have contrast ${tickContrast.toFixed(2)}`);
    }
  });

  it('keeps the hover tooltip inside the view', async () => {
    const view = await attentionView(page);
    const canvas = view.locator('canvas.heatmap-canvas');
    // The rightmost cell visible in the view, near its bottom edge.
    const target = await canvas.evaluate((c) => {
      const r = c.getBoundingClientRect();
      const box = c.closest('.heatmap-scroll')!.getBoundingClientRect();
      const right = Math.min(r.right, box.right - 16, window.innerWidth);
      const bottom = Math.min(r.bottom, box.bottom - 16, window.innerHeight);
      return { x: right - 3 - r.left, y: bottom - 3 - r.top };
    });
    await canvas.hover({ position: target, force: true });
    const tooltip = view.locator('.tooltip');
    await poll(async () => await tooltip.isVisible(), { what: 'the tooltip' });
    const inside = await tooltip.evaluate((t) => {
      const r = t.getBoundingClientRect();
      return { r: { left: r.left, top: r.top, right: r.right, bottom: r.bottom }, width: window.innerWidth, height: window.innerHeight };
    });
    assert.ok(inside.r.left >= 0 && inside.r.top >= 0 && inside.r.right <= inside.width && inside.r.bottom <= inside.height, `tooltip ${JSON.stringify(inside)} inside the view`);
  });
});
