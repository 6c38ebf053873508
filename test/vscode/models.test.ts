import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BertLensApi } from '../../src/extension';
import { USE_LITE_REF } from '../../src/core/models/modelRef';
import { modelPickItems, ModelPickerHelpers } from '../../src/vscode/models/modelPicker';
import { roleInfo } from '../../src/vscode/models/roleSettings';
import type { ModelState } from '../../src/vscode/models/modelStates';
import { waitFor } from '../harness/extensionTestIndex';
import { HubMirror } from '../harness/hubMirror';
import { ProxyServer } from '../harness/proxyServer';

const EXTENSION_ID = 'bert-lens.bert-lens';

async function api(): Promise<BertLensApi> {
  const exports = await vscode.extensions.getExtension<BertLensApi | undefined>(EXTENSION_ID)!.activate();
  assert.ok(exports, 'activate() returned the API');
  return exports;
}

function fixture(name: string): string {
  return path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'test', 'fixtures', 'models', name);
}

const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('bertLens');
const token = (): vscode.CancellationToken => new vscode.CancellationTokenSource().token;

export function register(): void {
  describe('models: picker, states, status bar, downloaded models', () => {
    let mirror: HubMirror;
    before(async () => {
      mirror = await HubMirror.start({ 'test/tiny-bert': fixture('tiny-bert') });
    });
    after(async () => {
      await settings().update('hubMirror', undefined, vscode.ConfigurationTarget.Global);
      await settings().update('model', fixture('tiny-bert'), vscode.ConfigurationTarget.Global);
      await mirror.stop();
    });

    it('contributes and registers Choose Model and Manage Downloaded Models', async () => {
      await api();
      const commands = new Set(await vscode.commands.getCommands(true));
      assert.ok(commands.has('bertLens.selectModel') && commands.has('bertLens.manageModels'));
    });

    it('offers the bundled encoder, curated models with task, size and licence, any Hub id and a local folder', async () => {
      const { services } = await api();
      const items = modelPickItems(roleInfo('embeddings'), 'Xenova/all-MiniLM-L6-v2', 'q8', services.models);
      const labels = items.map((i) => i.label);
      assert.ok(labels.some((l) => l.includes('Universal Sentence Encoder lite')), labels.join(' | '));
      assert.ok(labels.includes('Known transformers.js models (not verified offline)'));
      const miniLm = items.find((i) => i.label === '$(check) Xenova/all-MiniLM-L6-v2');
      assert.ok(miniLm, 'the current model is marked');
      assert.equal(miniLm.description, 'q8 ≈23 MB · Apache-2.0 · not downloaded');
      assert.match(miniLm.detail!, /^Sentence embeddings, English\. The default/);
      assert.ok(labels.includes('$(globe) Any Hub model id…') && labels.includes('$(folder) Local folder…'));
      const summaries = modelPickItems(roleInfo('summaries'), 'Xenova/distilbart-cnn-6-6', 'q8', services.models);
      assert.ok(!summaries.some((i) => i.label.includes('Universal Sentence Encoder')), 'no encoder for summaries');
      assert.ok(summaries.some((i) => i.label.includes('Xenova/distilbart-cnn-6-6')));
      assert.ok(ModelPickerHelpers.isHub('Xenova/bge-small-en-v1.5@main') && !ModelPickerHelpers.isHub('./models/x'));
      assert.deepEqual(ModelPickerHelpers.missingModelFiles(fixture('tiny-bert'), 'encoder'), []);
      assert.deepEqual(ModelPickerHelpers.missingModelFiles(fixture('tiny-bert'), 'seq2seq'), ['onnx/encoder_model.onnx']);
    });

    it('sets a role\'s model through the picker service and the status bar follows it to ready', async () => {
      const { services } = await api();
      const written = await services.modelsUi.selectModel({ role: 'embeddings', model: fixture('tiny-bert-wide') });
      assert.equal(written, fixture('tiny-bert-wide'));
      assert.equal(settings().inspect('model')?.globalValue, fixture('tiny-bert-wide'));
      const bar = services.modelsUi.statusBar;
      const key = services.models.stateKey(fixture('tiny-bert-wide'), 'fp32');
      await waitFor(() => services.models.states.get(key).kind === 'ready', { what: 'tiny-bert-wide ready', timeoutMs: 20_000 });
      assert.equal(bar.text, '$(circuit-board) tiny-bert-wide');
      assert.match(bar.tooltipText, /\*\*Embeddings & attention\*\*: `.*tiny-bert-wide` \(fp32\) — ready/);
      assert.match(bar.tooltipText, /Runtime: native onnxruntime/);
    });

    it('reports not downloaded → downloading n% → loading → ready for a Hub model, then lists, and deletes it', async () => {
      const { services } = await api();
      mirror.faults.set('test/tiny-bert/onnx/model.onnx', { kind: 'slow', chunkBytes: 16_384, delayMs: 20 });
      await settings().update('hubMirror', mirror.url, vscode.ConfigurationTarget.Global);
      const key = services.models.stateKey('test/tiny-bert', 'fp32');
      assert.equal(services.models.states.get(key).kind, 'notDownloaded');
      const seen: ModelState[] = [];
      const texts: string[] = [];
      const sub = services.models.states.onDidChange((c) => {
        if (c.model === key) seen.push(c.state);
        texts.push(services.modelsUi.statusBar.text);
      });
      try {
        await services.modelsUi.selectModel({ role: 'embeddings', model: 'test/tiny-bert' });
        await waitFor(() => services.models.states.get(key).kind === 'ready', { what: 'ready', timeoutMs: 30_000 });
      } finally {
        sub.dispose();
      }
      const kinds = seen.map((s) => s.kind).filter((k, i, all) => k !== all[i - 1]);
      assert.deepEqual(kinds, ['downloading', 'loading', 'ready']);
      const percents = seen.flatMap((s) => (s.kind === 'downloading' ? [s.percent] : []));
      assert.ok(percents.some((p) => p > 0 && p < 100), `intermediate progress: ${percents.join(', ')}`);
      assert.ok(texts.some((t) => /\$\(sync~spin\) \d+%$/.test(t)), texts.join(' | '));

      const listed = await services.modelsUi.manager.list();
      assert.deepEqual(listed.map((m) => m.ref), ['test/tiny-bert']);
      assert.ok(listed[0]!.bytes > 170_000 && listed[0]!.lastUsed !== undefined);
      const items = await services.modelsUi.manager.items();
      assert.match(items[0]!.description!, /(kB|MB) · used just now · in use for embeddings & attention/);
      assert.ok(items.some((i) => i.label === '$(copy) Copy the Model Folder Path'));

      // Semantic search holds the model's index open: deleting the model must not leave search broken.
      await services.search.indexWorkspace();
      const before = await services.search.search('licence copyright notice', { mode: 'vector', k: 3 }, new AbortController().signal);
      assert.ok(before.length > 0);
      assert.ok(await services.modelsUi.manager.delete(listed[0]!, { confirmed: true }));
      assert.deepEqual(await services.modelsUi.manager.list(), []);
      await services.search.indexWorkspace();
      const after = await services.search.search('licence copyright notice', { mode: 'vector', k: 3 }, new AbortController().signal);
      assert.deepEqual(after.map((h) => h.uri), before.map((h) => h.uri), 'search works again (the model was downloaded again)');
      assert.equal((await services.modelsUi.manager.list()).length, 1);
      assert.ok(await services.modelsUi.manager.delete((await services.modelsUi.manager.list())[0]!, { confirmed: true }));
      assert.equal(services.models.states.get(key).kind, 'notDownloaded');
      // Used again: downloads again.
      const embedded = await services.models.embed(['again'], token());
      assert.equal(embedded.count, 1);
      assert.equal((await services.modelsUi.manager.list()).length, 1);
    });

    it('shares one download between requests: a cancelled request does not stop it', async () => {
      const { services } = await api();
      const shared = await HubMirror.start({ 'test/shared-bert': fixture('tiny-bert') });
      shared.faults.set('test/shared-bert/onnx/model.onnx', { kind: 'slow', chunkBytes: 16_384, delayMs: 20 });
      try {
        await settings().update('hubMirror', shared.url, vscode.ConfigurationTarget.Global);
        await settings().update('model', 'test/shared-bert', vscode.ConfigurationTarget.Global);
        await waitFor(() => services.config.settings.model === 'test/shared-bert' && services.config.settings.hubMirror === shared.url);
        const first = new vscode.CancellationTokenSource();
        const cancelled = services.models.embed(['a selection that was replaced'], first.token);
        const kept = services.models.embed(['the newer selection'], token());
        await new Promise((r) => setTimeout(r, 150));
        first.cancel();
        await assert.rejects(cancelled, (e: unknown) => e instanceof vscode.CancellationError);
        assert.equal((await kept).count, 1, 'the other request got its embedding');
        assert.equal(shared.requests.filter((r) => r.endsWith('/onnx/model.onnx')).length, 1, 'downloaded once');
      } finally {
        await settings().update('hubMirror', mirror.url, vscode.ConfigurationTarget.Global);
        await settings().update('model', fixture('tiny-bert'), vscode.ConfigurationTarget.Global);
        await shared.stop();
      }
    });

    it('downloads through the proxy in VS Code\'s http.proxy setting', async () => {
      const { services } = await api();
      const proxy = await ProxyServer.start();
      const shared = await HubMirror.start({ 'test/proxied-bert': fixture('tiny-bert') });
      const httpSettings = vscode.workspace.getConfiguration('http');
      try {
        await httpSettings.update('proxy', proxy.url, vscode.ConfigurationTarget.Global);
        await settings().update('hubMirror', shared.url, vscode.ConfigurationTarget.Global);
        await settings().update('model', 'test/proxied-bert', vscode.ConfigurationTarget.Global);
        await waitFor(() => services.config.settings.model === 'test/proxied-bert' && services.config.settings.proxy?.url === proxy.url);
        assert.equal((await services.models.embed(['through the proxy'], token())).count, 1);
        assert.ok(proxy.passed(shared.url, '/test/proxied-bert/resolve/main/onnx/model.onnx'), `the proxy saw: ${proxy.seen.join(', ')}`);
      } finally {
        await httpSettings.update('proxy', undefined, vscode.ConfigurationTarget.Global);
        await settings().update('hubMirror', mirror.url, vscode.ConfigurationTarget.Global);
        await settings().update('model', fixture('tiny-bert'), vscode.ConfigurationTarget.Global);
        await shared.stop();
        await proxy.stop();
      }
    });

    it('tells the user once when the worker runs on WebAssembly, and the tooltip says why', async () => {
      const { services } = await api();
      const { runtime, statusBar } = services.modelsUi;
      assert.deepEqual(runtime.runtime, { kind: 'native' }, 'the worker said which runtime it uses');
      const wasm = { kind: 'wasm', reason: 'the native onnxruntime cannot load on darwin-x64 (test)', forced: false } as const;
      // What the worker sends after each (re)start: the message is shown only the first time.
      runtime.handle({ type: 'runtime', runtime: wasm });
      runtime.handle({ type: 'runtime', runtime: wasm });
      assert.equal(runtime.shown, 1);
      // The reason is escaped Markdown: `\-` renders as `-`.
      await waitFor(() => /Runtime: WebAssembly \(onnxruntime-web\), because the native onnxruntime cannot load on darwin\\-x64/.test(statusBar.tooltipText), { what: 'tooltip' });
      runtime.handle({ type: 'runtime', runtime: { kind: 'native' } });
      await waitFor(() => /Runtime: native onnxruntime/.test(statusBar.tooltipText), { what: 'native again' });
      assert.equal(runtime.shown, 1);
    });

    it('escapes error messages and setting values in the trusted tooltip: no links, commands or icons from outside (issue 14 item 8)', async () => {
      const { services } = await api();
      const { runtime, statusBar } = services.modelsUi;
      runtime.handle({ type: 'runtime', runtime: { kind: 'wasm', reason: 'see [docs](command:workbench.action.quit) $(bug) <img src=x>', forced: false } });
      await waitFor(() => /because see /.test(statusBar.tooltipText), { what: 'tooltip with the reason' });
      assert.ok(!statusBar.tooltipText.includes('](command:workbench.action.quit)'), statusBar.tooltipText);
      assert.ok(statusBar.tooltipText.includes('see \\[docs\\]\\(command\\:workbench\\.action\\.quit\\) \\$\\(bug\\) \\<img src=x\\>'), statusBar.tooltipText);
      runtime.handle({ type: 'runtime', runtime: { kind: 'native' } });
      await waitFor(() => /Runtime: native onnxruntime/.test(statusBar.tooltipText), { what: 'native again' });
    });

    it('offers the bundled encoder as a model like any other', async () => {
      const { services } = await api();
      await services.modelsUi.selectModel({ role: 'embeddings', model: USE_LITE_REF });
      await waitFor(() => services.modelsUi.statusBar.text === '$(circuit-board) USE lite (bundled)', { what: 'bundled ready', timeoutMs: 20_000 });
      const e = await services.models.embed(['a cat', 'a kitten'], token());
      assert.equal(services.models.states.get(services.models.stateKey(USE_LITE_REF, 'fp32')).kind, 'ready');
      assert.equal(e.dims, 512);
    });
  });
}
