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
 *   bertLens.summary.model = "./models/evil-summary".
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
    });

    it('ignores the workspace mirror and model folders, keeps a workspace Hub id', async () => {
      const { services } = await api();
      assert.equal(services.config.settings.hubMirror, '');
      assert.equal(services.config.settings.model, 'Xenova/bge-small-en-v1.5', 'a Hub id points to no code and no host');
      assert.deepEqual(
        services.config.ignoredWorkspaceSettings.map((s) => [s.key, s.reason]),
        [
          ['bertLens.summary.model', 'a model folder'],
          ['bertLens.hubMirror', 'a mirror host'],
        ],
      );
    });

    it('says why: a warning once, a shield and an explanation in the status bar', async () => {
      const { services } = await api();
      assert.equal(services.modelsUi.ignoredNotices, 1);
      const bar = services.modelsUi.statusBar;
      assert.ok(bar.text.startsWith('$(shield) '), bar.text);
      assert.match(bar.tooltipText, /Restricted mode: this workspace is not trusted, so its `bertLens.summary.model` \(a model folder\), `bertLens.hubMirror` \(a mirror host\) is ignored/);
    });

    it('ignores bertLens.model when the workspace points it at a folder', () => {
      const file = path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, '.vscode', 'settings.json');
      const original = fs.readFileSync(file, 'utf8');
      try {
        fs.writeFileSync(file, original.replace('"Xenova/bge-small-en-v1.5"', '"./models/evil" /* a folder */'));
        assert.deepEqual(restrictedWorkspaceValues().ignored.map((s) => s.key), ['bertLens.model', 'bertLens.summary.model', 'bertLens.hubMirror']);
        assert.equal(readSettings().model, 'Xenova/all-MiniLM-L6-v2', 'the user (default) value applies');
      } finally {
        fs.writeFileSync(file, original);
      }
    });
  });
}
