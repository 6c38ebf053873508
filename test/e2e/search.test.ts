import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { launchBrowser, openWorkbench, pageConsole, poll, runCommand, screenshot, startCodeServer, testOutputDir, webviewFrame, type CodeServer } from '../harness/codeServer';
import { repoRoot } from '../harness/paths';

/** A small workspace: a handbook whose sections are separate passages, plus unrelated notes and code. */
const FILES: Record<string, string> = {
  'docs/handbook.md': `# Staff handbook

## Holidays

Everyone has twenty-five days of leave a year. Ask your lead at least two weeks ahead, and record the days in the
calendar so that the team can plan around them.

## Expenses

Keep every receipt. Claims for hotels, meals and tickets are filed within thirty days through the finance portal,
and the reimbursement is paid together with the next salary.

## Security

Lock your screen when you leave your desk, use the password manager, and report lost laptops to IT at once.

## Equipment

New starters receive a laptop, a monitor and a headset on their first day; broken equipment is replaced by IT.
`,
  'docs/licence.md': `# Licence notes

You may copy, modify and share this software, provided the original copyright notice travels with every copy.
The authors give no warranty of any kind and are not liable for damages arising from its use.
`,
  'docs/baking.md': `# Sourdough

Mix flour, water and salt with the starter, fold the dough every half hour, and let it rise overnight in a cool place.
Bake in a very hot oven with steam for the first twenty minutes so that the crust stays thin and crisp.
`,
  'notes/travel.md': `# Trip to the coast

We took the early train along the river and reached the harbour town before noon.
The ferry to the island leaves twice a day; the last boat back is at six in the evening.
`,
  // Code whose passages sit indented in a class: the panel shows them without the shared indentation.
  'src/sessionStore.ts': `/** Keeps the sessions of signed-in people in memory. */
export class SessionStore {
  private readonly sessions = new Map<string, { user: string; expires: number }>();

  /** Records a session for a user that ends after the given number of minutes. */
  open(id: string, user: string, minutes: number): void {
    this.sessions.set(id, { user, expires: Date.now() + minutes * 60_000 });
  }

  /** Forgets every session whose end time has passed, so that stale sign-ins stop working. */
  purgeExpired(now = Date.now()): number {
    let removed = 0;
    for (const [id, session] of this.sessions) {
      if (session.expires <= now) {
        this.sessions.delete(id);
        removed++;
      }
    }
    return removed;
  }
}
`,
  // The demo workspace's retry helper: code among the prose.
  'src/upload.ts': fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'demo-workspace', 'src', 'upload.ts'), 'utf8'),
};

/** The paraphrase: none of its words occurs in the Security section (or anywhere in the workspace). */
const QUERY = 'what to do if my computer is stolen';
const TARGET = { file: 'docs/handbook.md', heading: '## Security' };

/** Quick Open (Ctrl+P) with `file` or `file:line`. */
async function openFile(page: Page, target: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill(target);
  const name = path.basename(target.replace(/:\d+$/, ''));
  // The list re-renders while it filters: wait until its first row is the file asked for.
  await poll(async () => (await page.locator('.quick-input-widget .monaco-list-row .label-name').first().textContent())?.trim() === name, { what: `${name} in Quick Open` });
  await input.press('Enter');
  await poll(async () => (await page.locator('.editor-group-container.active .tab.active .label-name').first().textContent()) === name, { what: `${name} opened` });
  await page.locator('.monaco-editor .view-lines').first().waitFor({ state: 'visible' });
}

function lines(file: string): string[] {
  return FILES[file]!.split('\n');
}

describe('Semantic search panel in code-server (browser)', function () {
  this.timeout(180_000);
  let workspace: string;
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let view: FrameLocator;

  before(async () => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-search-ws-'));
    for (const [rel, text] of Object.entries(FILES)) {
      fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
      fs.writeFileSync(path.join(workspace, rel), text);
    }
    const words = new Set(QUERY.toLowerCase().split(/\W+/).filter((w) => w.length > 3));
    for (const text of Object.values(FILES)) for (const w of words) assert.ok(!text.toLowerCase().includes(w), `"${w}" must not occur in the workspace`);
    server = await startCodeServer({ workspace, settings: { 'bertLens.model': 'bundled:use-lite', 'workbench.editor.enablePreview': true } });
    browser = await launchBrowser();
    page = await openWorkbench(browser, server, { folder: workspace, extensionDevelopmentPath: repoRoot });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      await screenshot(page, `failed-search-${this.currentTest.title}`);
      fs.writeFileSync(path.join(testOutputDir('e2e'), `failed-search-${this.currentTest.title.replace(/\W+/g, '_')}.console.log`), pageConsole(page).join('\n'));
    }
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('indexes the workspace, finds a paraphrase that shares no word with its target, and opens it from the keyboard', async () => {
    await runCommand(page, 'BERT Lens: Semantic Search');
    view = await webviewFrame(page, async (f) => (await f.locator('#query').count()) > 0, { timeoutMs: 30_000 });
    const query = view.locator('#query');
    await poll(async () => query.evaluate((el) => el === document.activeElement), { what: 'the query box focused on open' });
    // Typed key by key: every pause longer than the debounce sends a request that the next one cancels.
    await query.pressSequentially(QUERY, { delay: 25 });

    const targetLine = lines(TARGET.file).indexOf(TARGET.heading) + 1;
    const top = view.locator('.hit').first();
    // The first answer may come while the index is still being built; the panel asks again when it is ready.
    await poll(async () => (await top.getAttribute('title'))?.startsWith(`${TARGET.file}:${targetLine} `), { timeoutMs: 90_000, what: `${TARGET.file}:${targetLine} as the top result` });
    assert.match((await top.locator('.why').textContent()) ?? '', /meaning #1 · similarity 0\.\d+ · no query words: matched by meaning/);
    assert.equal(await top.locator('mark').count(), 0, 'no word of the query to highlight');
    assert.equal(await view.locator('.file-group').first().getAttribute('aria-label'), TARGET.file, 'results grouped by file, best file first');
    assert.match((await view.locator('.index-text').textContent()) ?? '', /^Index: \d+ passages · 6 files · Universal Sentence Encoder lite/);
    await poll(async () => /\d+ chunks/.test((await page.locator('.statusbar-item', { hasText: /chunks/ }).first().textContent()) ?? ''), { what: 'the status-bar item with the chunk count' });
    await screenshot(page, 'search-results');

    // Keyboard only: ↓ moves from the query box into the results, Enter opens the selected passage.
    await query.press('ArrowDown');
    await poll(async () => (await view.locator('#results').getAttribute('aria-activedescendant')) === 'hit-0', { what: 'the first result selected' });
    await view.locator('#results').press('Enter');

    // The editor shows the passage: its tab is active, the selection covers the section, the caret at its start.
    await poll(async () => (await page.locator('.editor-group-container.active .tab.active .label-name').first().textContent()) === 'handbook.md', { what: 'handbook.md opened' });
    const section = lines(TARGET.file).slice(targetLine - 1);
    const end = section.findIndex((l, i) => i > 0 && l.startsWith('## '));
    const passage = section.slice(0, end).join('\n').replace(/\n+$/, '');
    const selection = page.locator('.statusbar-item', { hasText: /^Ln \d+, Col \d+/ }).first();
    await poll(async () => (await selection.textContent())?.trim() === `Ln ${targetLine}, Col 1 (${passage.length} selected)`, {
      what: `selection "Ln ${targetLine}, Col 1 (${passage.length} selected)" in the status bar`,
    });
    const editor = page.locator('.editor-group-container.active .monaco-editor').first();
    const heading = editor.locator('.view-line', { hasText: TARGET.heading });
    await heading.waitFor({ state: 'visible' });
    // The editor may still be scrolling to the passage (slower on a loaded machine): wait until it has settled.
    await poll(
      async () => {
        const [box, lineBox] = [await editor.boundingBox(), await heading.boundingBox()];
        return box && lineBox && lineBox.y >= box.y && lineBox.y + lineBox.height <= box.y + box.height;
      },
      { what: 'the section heading on screen' },
    );
    assert.ok((await editor.locator('.selected-text').count()) > 0, 'the passage is shown selected');
    await screenshot(page, 'search-opened');
  });

  it('Search for Selection puts the selected text in the panel and searches for it', async () => {
    await openFile(page, 'notes/travel.md:3');
    // The whole logical line (with its line break, which the search trims).
    await page.keyboard.press('Control+L');
    await runCommand(page, 'BERT Lens: Search for Selection');
    await poll(async () => (await view.locator('#query').inputValue()) === lines('notes/travel.md')[2], { what: 'the selection in the query box' });
    await poll(async () => (await view.locator('.hit').first().getAttribute('title'))?.startsWith('notes/travel.md:'), { timeoutMs: 30_000, what: 'travel notes on top' });
    assert.ok((await view.locator('.hit').first().locator('mark').count()) > 0, 'the words of the selection are highlighted');
  });

  it('a paraphrase about code puts its file first, with the passage de-indented and its declaration shown', async () => {
    // No word of the query is in the file: "clean up", "logins", "timed out" against "forgets", "sign-ins", "passed".
    const code = 'clean up logins which have timed out';
    for (const w of code.split(' ').filter((x) => x.length > 3)) assert.ok(!FILES['src/sessionStore.ts']!.toLowerCase().includes(w), w);
    await view.locator('#query').fill(code);
    const group = view.locator('.file-group').first();
    await poll(async () => (await group.getAttribute('aria-label')) === 'src/sessionStore.ts', { timeoutMs: 30_000, what: 'src/sessionStore.ts as the first file' });
    const source = lines('src/sessionStore.ts');
    const hit = group.locator('.hit').first();
    const [first] = ((await hit.getAttribute('title')) ?? '').split(' ');
    const line = Number(first!.split(':')[1]);
    const shown = (await hit.locator('.line-text').allTextContents()).filter((t) => t.trim() !== '');
    const numbers = (await hit.locator('.line-number').allTextContents()).map(Number);
    assert.ok(numbers.length > 0 && numbers[0]! >= line, `preview lines ${numbers.join(',')} within the passage from line ${line}`);
    // Each preview line is its document line less the indentation they all share (two spaces or more in the class).
    const original = numbers.map((n) => source[n - 1]!).filter((t) => t.trim() !== '');
    const shared = Math.min(...original.map((t) => /^ */.exec(t)![0].length));
    assert.ok(shared >= 2, `the passage is indented in the file (${shared})`);
    assert.deepEqual(shown, original.map((t) => t.slice(shared)), 'the preview drops the shared indentation');
    assert.ok(shown.some((t) => !t.startsWith(' ')), 'at least one preview line starts at the left edge');
    assert.match((await hit.locator('.hit-head .context').textContent()) ?? '', /SessionStore|purgeExpired|open/, 'the declaration the passage belongs to');
    await screenshot(page, 'search-code');
  });

  it('switches ranking modes from the picker and restores the query after the panel is hidden', async () => {
    // Nothing in the workspace is about astronomy: by meaning alone the best passage is under the model's floor.
    await view.locator('#query').fill('volcanic moons of distant planets');
    await view.locator('#mode').selectOption('vector');
    await poll(async () => /no query words: weak match$/.test((await view.locator('.hit').first().locator('.why').textContent()) ?? ''), { what: 'a weak match labelled as such' });
    await view.locator('#query').fill('receipt');
    await view.locator('#mode').selectOption('lexical');
    await poll(async () => (await view.locator('.hit').first().locator('.score').textContent())?.startsWith('BM25'), { what: 'lexical scores' });
    assert.equal(await view.locator('.hit').count(), 1, 'only the passage with the word');
    assert.equal(await view.locator('.hit mark').first().textContent(), 'receipt');
    // Hide the panel behind an editor in its group, then bring it back: the webview is re-created from its saved state.
    await runCommand(page, 'View: Focus First Editor Group');
    await openFile(page, 'docs/licence.md');
    await poll(async () => (await view.locator('#query').count().catch(() => 0)) === 0, { what: 'the hidden panel’s webview gone' });
    await runCommand(page, 'BERT Lens: Semantic Search');
    const again = await webviewFrame(page, async (f) => (await f.locator('#query').count()) > 0 && (await f.locator('#query').inputValue()) === 'receipt', { timeoutMs: 30_000 });
    assert.equal(await again.locator('#mode').inputValue(), 'lexical');
    await poll(async () => (await again.locator('.hit').count()) === 1, { what: 'results of the restored query' });
  });
});
