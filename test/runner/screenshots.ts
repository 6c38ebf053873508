// Captures the README screenshots of the Attention view (media/docs/*.png) in a real code-server + Chromium,
// on the bundled encoder:  node esbuild.js && node out/test/runner/screenshots.js
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attentionView, launchBrowser, openWorkbench, runCommand, startCodeServer } from '../harness/codeServer';
import { repoRoot } from '../harness/paths';


async function main(): Promise<void> {
  const workspace = path.join(repoRoot, 'test', 'fixtures', 'demo-workspace');
  const out = path.join(repoRoot, 'media', 'docs');
  fs.mkdirSync(out, { recursive: true });
  const server = await startCodeServer({ workspace, settings: { 'bertLens.model': 'bundled:use-lite', 'workbench.colorTheme': 'Default Dark Modern' } });
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await openWorkbench(browser, server, { folder: workspace, extensionDevelopmentPath: repoRoot, context });
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.fill('README.md:6');
    await page.locator('.quick-input-widget .monaco-list-row').first().waitFor();
    await input.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await page.keyboard.press('Control+L');
    await runCommand(page, 'BERT Lens: Inspect Attention of Selection');
    const view = await attentionView(page);
    // A wider sidebar shows the maps at a readable size: drag the sash between the sidebar and the editor.
    const sidebarBox = (await page.locator('.monaco-workbench .part.sidebar').boundingBox())!;
    const edge = sidebarBox.x + sidebarBox.width;
    await page.mouse.move(edge + 1, sidebarBox.y + 300);
    await page.mouse.down();
    await page.mouse.move(edge + 200, sidebarBox.y + 300, { steps: 10 });
    await page.mouse.up();
    await view.locator('.token-label.row').first().waitFor();
    const sidebar = page.locator('.monaco-workbench .part.sidebar');
    const shots: [string, () => Promise<void>][] = [
      ['heatmap', async () => {
        await view.locator('#tab-heatmap').click();
        await view.locator('select#layer').selectOption({ value: '1' });
        const canvas = view.locator('canvas.heatmap-canvas');
        const box = (await canvas.boundingBox())!;
        await canvas.hover({ position: { x: box.width * 0.3, y: box.height * 0.55 } });
      }],
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
      await page.waitForTimeout(300);
      const file = path.join(out, `attention-${name}.png`);
      await page.screenshot({ path: file, clip: (await sidebar.boundingBox()) ?? undefined });
      console.log(`${file} (${(fs.statSync(file).size / 1024).toFixed(0)} KiB)`);
    }
    await page.screenshot({ path: path.join(out, 'attention-workbench.png') });
    console.log(path.join(out, 'attention-workbench.png'));
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
