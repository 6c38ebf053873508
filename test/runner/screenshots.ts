// Captures the README screenshots of the Attention view (media/docs/*.png) in a real code-server + Chromium,
// on the bundled encoder, on an 85-token passage, in a dark and a light theme:
//   node esbuild.js && node out/test/runner/screenshots.js
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { attentionView, chooseColorTheme, launchBrowser, openWorkbench, poll, runCommand, startCodeServer } from '../harness/codeServer';
import { repoRoot } from '../harness/paths';

/** README.md line 10 of the demo workspace: a passage of 85 tokens for the bundled encoder. */
const PASSAGE = 'README.md:10';
const DARK = 'Default Dark Modern';
const LIGHT = 'Default Light Modern';

async function selectPassage(page: Page): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.fill(PASSAGE);
  await page.locator('.quick-input-widget .monaco-list-row').first().waitFor();
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  await page.keyboard.press('Control+L');
}

/** A wider sidebar shows more of the maps: drag the sash between the sidebar and the editor. */
async function widenSidebar(page: Page, by: number): Promise<void> {
  const box = (await page.locator('.monaco-workbench .part.sidebar').boundingBox())!;
  const edge = box.x + box.width;
  await page.mouse.move(edge + 1, box.y + 300);
  await page.mouse.down();
  await page.mouse.move(edge + by, box.y + 300, { steps: 10 });
  await page.mouse.up();
}

/** Switches the theme and waits until the view has it (webviews get the new colours a moment later). */
async function useTheme(page: Page, view: FrameLocator, theme: string, kind: string): Promise<void> {
  await chooseColorTheme(page, theme);
  const workbenchKind = kind === 'vscode-dark' ? 'vs-dark' : 'vs';
  const applied = async (): Promise<boolean> =>
    Boolean((await view.locator('body').getAttribute('class'))?.split(' ').includes(kind)) &&
    Boolean((await page.locator('.monaco-workbench').getAttribute('class'))?.split(' ').includes(workbenchKind));
  // The picker may switch back and forth while the setting is written: wait until the theme holds for a second.
  await poll(async () => (await applied()) && (await page.waitForTimeout(1000), await applied()), { timeoutMs: 30_000, what: `${theme} in the view` });
}

async function showHeatmap(view: FrameLocator): Promise<void> {
  await view.locator('#tab-heatmap').click();
  await view.locator('select#layer').selectOption({ value: '1' });
  const canvas = view.locator('canvas.heatmap-canvas');
  const box = (await canvas.boundingBox())!;
  await canvas.hover({ position: { x: Math.min(box.width, 300) * 0.4, y: Math.min(box.height, 400) * 0.5 } });
}

async function main(): Promise<void> {
  const workspace = path.join(repoRoot, 'test', 'fixtures', 'demo-workspace');
  const out = path.join(repoRoot, 'media', 'docs');
  fs.mkdirSync(out, { recursive: true });
  const server = await startCodeServer({ workspace, settings: { 'bertLens.model': 'bundled:use-lite' } });
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await openWorkbench(browser, server, { folder: workspace, extensionDevelopmentPath: repoRoot, context });
    await selectPassage(page);
    await runCommand(page, 'BERT Lens: Inspect Attention of Selection');
    const view = await attentionView(page);
    // The window can open light while VS Code believes Dark Modern is set (issue 13 item 13): go through light first.
    await useTheme(page, view, LIGHT, 'vscode-light');
    await useTheme(page, view, DARK, 'vscode-dark');
    await widenSidebar(page, 200);
    await view.locator('.token-label.row').nth(80).waitFor();
    const sidebar = page.locator('.monaco-workbench .part.sidebar');
    const shoot = async (name: string): Promise<void> => {
      await page.waitForTimeout(300);
      const file = path.join(out, `attention-${name}.png`);
      await page.screenshot({ path: file, clip: (await sidebar.boundingBox()) ?? undefined });
      console.log(`${file} (${(fs.statSync(file).size / 1024).toFixed(0)} KiB)`);
    };
    const shots: [string, () => Promise<void>][] = [
      ['heatmap-dark', () => showHeatmap(view)],
      ['heads', async () => {
        await view.locator('#tab-heads').click();
        await view.locator('.head-tokens.left .token-label').nth(4).hover();
      }],
      ['model', async () => view.locator('#tab-model').click()],
      ['rollout', async () => {
        await view.locator('#tab-rollout').click();
        await view.locator('.rollout-token').nth(4).click();
      }],
    ];
    for (const [name, prepare] of shots) {
      await prepare();
      await shoot(name);
    }
    await showHeatmap(view);
    await page.screenshot({ path: path.join(out, 'attention-workbench.png') });
    console.log(path.join(out, 'attention-workbench.png'));
    await useTheme(page, view, LIGHT, 'vscode-light');
    await showHeatmap(view);
    await shoot('heatmap-light');
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
