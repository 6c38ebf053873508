import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BertLensApi } from '../../src/extension';
import { readSettings } from '../../src/vscode/config';
import { restrictedWorkspaceValues } from '../../src/vscode/models/workspaceTrust';

/**
 * Runs only in the restricted-mode pass of the extension-host tier (test/runner/vscodeTier.ts): code-server with
 * workspace trust on, a workspace never trusted, whose .vscode/settings.json sets
 *   bertLens.model = "Xenova/bge-small-en-v1.5", bertLens.hubMirror = "http://mirror.invalid",
 *   bertLens.summary.model = "./models/evil-summary", bertLens.hover.mode = "abstractive",
 *   bertLens.allowDownloads = true, bertLens.search.maxFileSize = 1e12;
 * and whose user settings say bertLens.allowDownloads = false.
 */
export function register(): void {
  if (vscode.workspace.isTrusted) return;
  describe('restricted mode: workspace settings that point to folders or hosts', () => {
    async function api(): Promise<BertLensApi> {
      const exports = await vscode.extensions.getExtension<BertLensApi | undefined>('bert-lens.bert-lens')!.activate();
      assert.ok(exports, 'BERT Lens activates in restricted mode');
      return exports;
    }

    it('VS Code hides restricted workspace values from get() and inspect() alike', () => {
      const c = vscode.workspace.getConfiguration('bertLens');
      assert.equal(vscode.workspace.isTrusted, false);
      assert.equal(c.get('hubMirror'), '');
      assert.equal(c.inspect('hubMirror')?.workspaceValue, undefined);
      assert.equal(c.inspect('model')?.workspaceValue, undefined);
      assert.equal(c.inspect('hover.mode')?.workspaceValue, undefined);
    });

    it('ignores every workspace choice of what is downloaded or run: Hub ids, model folders, mirror, abstractive hovers (issue 14 item 2)', async () => {
      const { services } = await api();
      const s = services.config.settings;
      assert.equal(s.hubMirror, '');
      assert.equal(s.model, 'Xenova/all-MiniLM-L6-v2', 'the user (default) model, not the workspace Hub id');
      assert.equal(s.hover.mode, 'extractive', 'a workspace cannot make a plain hover download and run a seq2seq model');
      assert.deepEqual(
        services.config.ignoredWorkspaceSettings.map((i) => [i.key, i.reason]),
        [
          ['bertLens.model', 'a model to download and run'],
          ['bertLens.summary.model', 'a model folder'],
          ['bertLens.hubMirror', 'a mirror host'],
          ['bertLens.hover.mode', 'a summary mode'],
        ],
      );
    });

    it("a workspace cannot turn the user's downloads back on, nor raise the file size limit past its cap (issue 14 items 3, 4)", async () => {
      const { services } = await api();
      const c = vscode.workspace.getConfiguration('bertLens');
      assert.equal(c.get('allowDownloads'), false, 'allowDownloads has machine scope: the workspace value does not apply');
      assert.equal(services.config.settings.allowDownloads, false);
      const asked = c.get<number>('search.maxFileSize')!;
      assert.equal(services.config.settings.searchMaxFileSize, Math.min(asked, 16 * 1024 * 1024), `the workspace asked for ${asked} bytes`);
      assert.ok(services.config.settings.searchMaxFileSize <= 16 * 1024 * 1024);
    });

    it('says why: a warning once, a shield and an explanation in the status bar', async () => {
      const { services } = await api();
      assert.equal(services.modelsUi.ignoredNotices, 1);
      const bar = services.modelsUi.statusBar;
      assert.ok(bar.text.startsWith('$(shield) '), bar.text);
      assert.match(bar.tooltipText, /Restricted mode: this workspace is not trusted, so its `bertLens.model` \(a model to download and run\), `bertLens.summary.model` \(a model folder\), `bertLens.hubMirror` \(a mirror host\), `bertLens.hover.mode` \(a summary mode\) is ignored/);
    });

    it('names a workspace model folder as such', () => {
      const file = path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, '.vscode', 'settings.json');
      const original = fs.readFileSync(file, 'utf8');
      try {
        fs.writeFileSync(file, original.replace('"Xenova/bge-small-en-v1.5"', '"./models/evil" /* a folder */'));
        assert.deepEqual(restrictedWorkspaceValues().slice(0, 2).map((i) => [i.key, i.reason]), [
          ['bertLens.model', 'a model folder'],
          ['bertLens.summary.model', 'a model folder'],
        ]);
        assert.equal(readSettings().model, 'Xenova/all-MiniLM-L6-v2', 'the user (default) value applies');
      } finally {
        fs.writeFileSync(file, original);
      }
    });
  });
}
