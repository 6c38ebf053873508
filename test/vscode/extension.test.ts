import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BertLensApi } from '../../src/extension';
import { dequantize } from '../../src/protocol/attention';
import { waitFor } from '../harness/extensionTestIndex';
import { loadReference, maxAbsDiff } from '../harness/reference';

const EXTENSION_ID = 'bert-lens.bert-lens';

async function api(): Promise<BertLensApi> {
  const extension = vscode.extensions.getExtension<BertLensApi | undefined>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is installed`);
  const exports = await extension.activate();
  assert.ok(exports, 'activate() returned the API (activation did not fail)');
  return exports;
}

function fixture(name: string): string {
  return path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'test', 'fixtures', 'models', name);
}

export function register(): void {
  describe('BERT Lens in the extension host', () => {
    before(async () => {
      await vscode.workspace.getConfiguration('bertLens').update('model', fixture('tiny-bert'), vscode.ConfigurationTarget.Global);
    });

    it('activates and registers every command it contributes', async () => {
      const { activationMs } = await api();
      console.log(`BERTLENS_METRIC activationMs=${activationMs.toFixed(2)}`);
      const contributed = (vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { commands: { command: string }[] } }).contributes.commands.map((c) => c.command);
      assert.ok(contributed.includes('bertLens.inspectAttention'));
      const registered = new Set(await vscode.commands.getCommands(true));
      for (const id of contributed) assert.ok(registered.has(id), `${id} is registered`);
    });

    it('reads its settings and follows changes', async () => {
      const { services } = await api();
      assert.equal(services.config.settings.model, fixture('tiny-bert'));
      assert.equal(services.config.settings.allowDownloads, true);
      await vscode.workspace.getConfiguration('bertLens').update('dtype', 'q8', vscode.ConfigurationTarget.Global);
      await waitFor(() => services.config.settings.dtype === 'q8', { what: 'dtype setting change' });
      await vscode.workspace.getConfiguration('bertLens').update('dtype', undefined, vscode.ConfigurationTarget.Global);
      await waitFor(() => services.config.settings.dtype === 'fp32', { what: 'dtype setting reset' });
    });

    it('runs the model in a worker thread and answers model facts', async () => {
      const { services } = await api();
      const started = performance.now();
      const info = await services.models.modelInfo(new vscode.CancellationTokenSource().token);
      console.log(`BERTLENS_METRIC firstModelInfoMs=${(performance.now() - started).toFixed(1)}`);
      assert.deepEqual([info.layers, info.heads, info.hiddenSize, info.maxTokens], [2, 4, 32, 64]);
      assert.ok(services.worker.threadId !== undefined && services.worker.threadId > 0, 'a worker thread runs the model');
    });

    it('computes attention for a text that matches PyTorch', async () => {
      const { services } = await api();
      const item = loadReference('tiny-bert').items[0]!;
      const maps = await services.models.attention(item.text, new vscode.CancellationTokenSource().token);
      assert.deepEqual(maps.tokens.map((t) => t.text), item.tokens);
      assert.ok(maxAbsDiff(maps.weights, item.attentions!.flat(3)) < 1e-4);
    });

    it('Inspect Attention of Selection sends the selection to the Attention view', async () => {
      const { services } = await api();
      const item = loadReference('tiny-bert').items[1]!;
      const doc = await vscode.workspace.openTextDocument({ content: `Intro line.\n${item.text}\nOutro.`, language: 'markdown' });
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(1, 0, 1, item.text.length);
      await vscode.commands.executeCommand('bertLens.inspectAttention');
      const shown = await waitFor(() => services.attentionView.lastShown, { what: 'attention payload', timeoutMs: 20_000 });
      assert.equal(shown.source.offset, doc.offsetAt(new vscode.Position(1, 0)));
      // The view labels each token with the text it covers (case kept, no '##'); special tokens keep their names.
      assert.deepEqual(shown.tokens.map((t) => t.text), shown.tokens.map((t, i) => (t.special ? item.tokens[i] : item.text.slice(t.start, t.end))));
      const resume = shown.tokens[item.tokens.indexOf('res')]!;
      assert.equal(resume.text, 'RÉS');
      assert.equal(item.text.slice(resume.start, resume.end), 'RÉS');
      assert.deepEqual(shown.read, { chars: item.text.length, totalChars: item.text.length });
      // The view gets layer 0 in 16 bits, the head means of every layer, and thumbnails.
      assert.equal(shown.layer, 0);
      assert.ok(maxAbsDiff(dequantize(shown.layerWeights), item.attentions![0]!.flat(2)) < 1e-4);
      const means = item.attentions!.map((layer) => layer[0]!.flat().map((_, i) => layer.reduce((s, head) => s + head.flat()[i]!, 0) / layer.length));
      assert.ok(maxAbsDiff(dequantize(shown.layerMeans), means.flat()) < 1e-4);
      // Other layers and the full maps come from the worker on request.
      assert.ok(maxAbsDiff(dequantize(await services.models.attentionLayer(shown.id, 1)), item.attentions![1]!.flat(2)) < 1e-4);

      const target = vscode.Uri.file(path.join(os.tmpdir(), `bert-lens-export-${Date.now()}.json`));
      await services.inspector.exportJson(target);
      const exported = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(target))) as {
        tokens: { text: string }[];
        attentions: number[][][][];
        source: { label: string };
        read: { chars: number; totalChars: number };
      };
      // The export keeps the tokenizer's own pieces, and says how much of the input was read.
      assert.deepEqual(exported.tokens.map((t) => t.text), item.tokens);
      assert.deepEqual(exported.read, { chars: item.text.length, totalChars: item.text.length });
      assert.ok(maxAbsDiff(exported.attentions.flat(3), item.attentions!.flat(3)) < 1e-6, 'exported JSON has full precision');
      assert.match(exported.source.label, /^Untitled-\d+:2$/);
    });

    it('turns a missing model into a clear error instead of a hang', async () => {
      const { services } = await api();
      await vscode.workspace.getConfiguration('bertLens').update('model', '/nonexistent/bert', vscode.ConfigurationTarget.Global);
      await waitFor(() => services.config.settings.model === '/nonexistent/bert');
      await assert.rejects(services.models.attention('hello', new vscode.CancellationTokenSource().token), /No model found at \/nonexistent\/bert/);
      await vscode.workspace.getConfiguration('bertLens').update('model', fixture('tiny-bert'), vscode.ConfigurationTarget.Global);
      await waitFor(() => services.config.settings.model === fixture('tiny-bert'));
    });

    it('falls back to the bundled encoder when the Hub model cannot be had, and says so once', async () => {
      const { services } = await api();
      const config = vscode.workspace.getConfiguration('bertLens');
      await config.update('allowDownloads', false, vscode.ConfigurationTarget.Global);
      await config.update('model', 'Xenova/all-MiniLM-L6-v2', vscode.ConfigurationTarget.Global);
      await waitFor(() => services.config.settings.model === 'Xenova/all-MiniLM-L6-v2' && !services.config.settings.allowDownloads);
      const notices = services.models.fallbackNotices;
      const info = await services.models.modelInfo(new vscode.CancellationTokenSource().token);
      assert.equal(info.ref, 'bundled:use-lite');
      assert.equal(info.displayName, 'Universal Sentence Encoder lite (bundled, offline)');
      assert.deepEqual([info.layers, info.heads, info.hiddenSize], [2, 4, 512]);
      assert.match(services.models.fallbackReason ?? '', /not downloaded/);
      const vectors = await services.models.embed(['The cat sat on the mat.', 'A kitten rested on the rug.', 'Stock prices fell sharply today.'], new vscode.CancellationTokenSource().token);
      const cos = (a: number, b: number): number => {
        let s = 0;
        for (let d = 0; d < vectors.dims; d++) s += vectors.vectors[a * vectors.dims + d]! * vectors.vectors[b * vectors.dims + d]!;
        return s;
      };
      assert.ok(cos(0, 1) > cos(0, 2) + 0.3, 'real similarity from the bundled encoder');
      assert.equal(services.models.fallbackNotices, notices + 1, 'told once');
      await services.models.modelInfo(new vscode.CancellationTokenSource().token);
      assert.equal(services.models.fallbackNotices, notices + 1, 'not told again');
      await config.update('allowDownloads', undefined, vscode.ConfigurationTarget.Global);
      await config.update('model', fixture('tiny-bert'), vscode.ConfigurationTarget.Global);
      await waitFor(() => services.config.settings.model === fixture('tiny-bert'));
      assert.equal(services.models.fallbackReason, undefined);
    });

    it('recovers from a crashed worker', async () => {
      const { services } = await api();
      const starts = services.worker.starts;
      await services.worker.restart();
      const info = await services.models.modelInfo(new vscode.CancellationTokenSource().token);
      assert.equal(info.layers, 2);
      assert.equal(services.worker.starts, starts + 1);
    });
  });
}
