import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BertLensApi } from '../../src/extension';
import type { SearchMode, SearchResult } from '../../src/core/search/types';
import { MAX_QUERY_CHARS, type SearchViewToHost } from '../../src/protocol/search';
import { waitFor } from '../harness/extensionTestIndex';
import { fixtureModel as fixture } from '../harness/paths';
import { SearchPanel } from '../../src/vscode/search/searchPanel';

/** The extension's services (activating it if needed). */
async function api(): Promise<BertLensApi> {
  return (await vscode.extensions.getExtension<BertLensApi>('bert-lens.bert-lens')!.activate())!;
}

async function setSetting(section: string, value: unknown): Promise<void> {
  const [head, ...rest] = section.split('.');
  await vscode.workspace.getConfiguration(head).update(rest.join('.'), value, vscode.ConfigurationTarget.Global);
}

export function register(): void {
  describe('Semantic search in the extension host', () => {
    const folder = (): vscode.Uri => vscode.workspace.workspaceFolders![0]!.uri;
    const created: vscode.Uri[] = [];
    const search = async (query: string, mode: SearchMode = 'lexical', k = 10): Promise<SearchResult[]> =>
      (await api()).services.search.search(query, { mode, k }, new AbortController().signal);

    before(async () => {
      await setSetting('bertLens.model', fixture('tiny-bert'));
      const { services } = await api();
      await waitFor(() => services.config.settings.model === fixture('tiny-bert'));
    });

    after(async () => {
      for (const uri of created) await vscode.workspace.fs.delete(uri, { recursive: true }).then(undefined, () => undefined);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      for (const s of ['files.exclude', 'bertLens.search.maxFileSize']) await setSetting(s, undefined);
    });

    it('indexes the workspace through workspace.fs and finds passages with their ranges', async () => {
      const { services } = await api();
      const summary = await services.search.indexWorkspace();
      assert.ok(summary, 'the scan finished');
      const docs = (await vscode.workspace.findFiles('**/*')).length;
      assert.equal(services.search.stats()!.files, docs, 'every workspace file is indexed');
      // Identical passages (in two files, or two halves of a split passage) share one vector.
      assert.equal(summary.chunksEmbedded, services.search.stats()!.liveTexts, 'a new index embeds every distinct passage once');
      const hits = await search('licence copyright notice');
      assert.equal(hits[0]!.relPath, 'docs/licence-notes.md');
      assert.ok(hits[0]!.uri.startsWith(folder().toString()), 'results carry workspace URIs');
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(hits[0]!.uri));
      const range = new vscode.Range(hits[0]!.startLine, hits[0]!.startCharacter, hits[0]!.endLine, hits[0]!.endCharacter);
      assert.equal(doc.getText(range), hits[0]!.text, 'the range holds exactly the passage');
      assert.ok(hits[0]!.why.matchedTerms.length >= 2 && hits[0]!.why.lexicalRank === 1, JSON.stringify(hits[0]!.why));
      const state = services.search.state;
      assert.equal(state.kind, 'ready');
      if (state.kind === 'ready') assert.equal(state.chunks, services.search.stats()!.chunks);
    });

    it('an edited and saved file is re-indexed alone: the new text is found, the old text is gone, no rebuild', async () => {
      const { services } = await api();
      const uri = vscode.Uri.joinPath(folder(), `search-edit-${Date.now()}.md`);
      created.push(uri);
      const text = '# Field notes\n\nThe zebracorn migration finished on Tuesday after the schema freeze.\n\nA second paragraph about the weather in spring stays the same in every edit.\n';
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
      // Picked up from the file watcher alone.
      await waitFor(async () => (await search('zebracorn')).some((h) => h.uri === uri.toString()), { timeoutMs: 20_000, what: 'the new file in the index' });
      const totalChunks = services.search.stats()!.chunks;
      const fileChunks = services.search.documents().find((d) => d.uri === uri.toString())!.chunks.length;
      const embeddedBefore = services.search.stats()!.chunksEmbedded;
      const updatesBefore = services.search.updates;
      const overlaysBefore = services.search.stats()!.overlays;

      // Unsaved edits are searchable at once (an overlay), and hide the stored text.
      const editor = await vscode.window.showTextDocument(uri);
      const start = editor.document.getText().indexOf('zebracorn');
      await editor.edit((e) => e.replace(new vscode.Range(editor.document.positionAt(start), editor.document.positionAt(start + 'zebracorn'.length)), 'quokkaflux'));
      const unsaved = await waitFor(async () => (await search('quokkaflux')).find((h) => h.uri === uri.toString()), { what: 'the unsaved text' });
      assert.equal(unsaved.fromOverlay, true);
      assert.ok(!(await search('zebracorn')).some((h) => h.uri === uri.toString()), 'the unsaved version replaces the saved one');

      await editor.document.save();
      const saved = await waitFor(
        async () => {
          const hit = (await search('quokkaflux')).find((h) => h.uri === uri.toString());
          return hit && !hit.fromOverlay && services.search.updates > updatesBefore ? hit : undefined;
        },
        { timeoutMs: 20_000, what: 'the saved text in the stored index' },
      );
      assert.equal(saved.relPath, path.basename(uri.path));
      assert.ok(!(await search('zebracorn')).some((h) => h.uri === uri.toString()), 'the old text is gone');
      const summary = services.search.lastSummary!;
      assert.equal(summary.filesIndexed, 1, 'only the saved file was read');
      assert.equal(summary.filesUnchanged, 0, 'no other file was even looked at');
      const embedded = services.search.stats()!.chunksEmbedded - embeddedBefore;
      assert.ok(embedded >= 1 && embedded <= fileChunks, `${embedded} passages embedded for the edit (the file has ${fileChunks})`);
      assert.ok(embedded < totalChunks, `no rebuild: ${embedded} of ${totalChunks} passages embedded`);
      assert.equal(services.search.stats()!.overlays, overlaysBefore, 'the overlay went once the index held the saved text');

      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      await vscode.workspace.fs.delete(uri);
      await waitFor(async () => !(await search('quokkaflux')).some((h) => h.uri === uri.toString()), { timeoutMs: 20_000, what: 'the deleted file leaving the index' });
    });

    it('untitled editors are searchable', async () => {
      const doc = await vscode.workspace.openTextDocument({ content: 'Scratch: the narwhal inventory must be recounted.', language: 'plaintext' });
      await vscode.window.showTextDocument(doc);
      const hit = await waitFor(async () => (await search('narwhal')).find((h) => h.uri === doc.uri.toString()), { what: 'the untitled document' });
      assert.equal(hit.fromOverlay, true);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    });

    it('an unsaved editor over the size limit is not indexed, and searches do not wait for unsaved text', async () => {
      const { services } = await api();
      await services.search.indexWorkspace();
      const overlays = services.search.stats()!.overlays;
      // 2 MB of unsaved text: over the 1 MiB default, so it is refused before it is chunked or embedded.
      const big = await vscode.workspace.openTextDocument({ content: 'kinkajou burrow census '.repeat(90_000), language: 'plaintext' });
      await vscode.window.showTextDocument(big);
      const small = await vscode.workspace.openTextDocument({ content: 'The okapi feeding schedule changed.', language: 'plaintext' });
      await vscode.window.showTextDocument(small);
      await waitFor(async () => (await search('okapi')).some((h) => h.uri === small.uri.toString()), { what: 'the small untitled document' });
      assert.ok(!(await search('kinkajou')).some((h) => h.uri === big.uri.toString()), 'the large one is not searchable');
      assert.equal(services.search.stats()!.overlays, overlays + 1, 'only the small one is an overlay');
      assert.equal(services.search.stats()!.overlaysPending, 0);
      for (const doc of [small, big]) {
        await vscode.window.showTextDocument(doc);
        await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      }
    });

    it('with the index closed, renames are not queued and Index Workspace settles instead of hanging', async () => {
      const { services } = await api();
      await services.search.indexWorkspace();
      assert.equal(await services.search.onModelDeleted(fixture('tiny-bert-wide')), false, 'another model’s folder leaves the index open');
      // The index closes after indexWorkspace() found it open and before its scan starts.
      const waiting = services.search.indexWorkspace();
      const closing = services.search.onModelDeleted(fixture('tiny-bert'));
      const settled = await Promise.race([waiting, new Promise((r) => setTimeout(() => r('hung'), 5000))]);
      assert.equal(settled, undefined, 'resolved as cancelled');
      assert.equal(await closing, true);
      assert.equal(services.search.state.kind, 'notIndexed');
      assert.equal(services.search.stats(), undefined);

      const from = vscode.Uri.joinPath(folder(), `search-rename-${Date.now()}.md`);
      const to = vscode.Uri.joinPath(folder(), `search-renamed-${Date.now()}.md`);
      created.push(from, to);
      await vscode.workspace.fs.writeFile(from, new TextEncoder().encode('# Moved\n\nThe capybara enclosure moved.\n'));
      const edit = new vscode.WorkspaceEdit();
      edit.renameFile(from, to);
      assert.ok(await vscode.workspace.applyEdit(edit));
      await waitFor(() => services.search.idle, { timeoutMs: 3000, what: 'no update loop without an index' });
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(services.search.idle, 'still idle');

      // The next search opens the index again (resolving the model anew) and finds the renamed file.
      await waitFor(async () => (await search('capybara')).some((h) => h.uri === to.toString()), { timeoutMs: 20_000, what: 'the renamed file after reopening' });
      // Search answers from the part already indexed while the rest of the update runs: the index settles after.
      await waitFor(() => services.search.state.kind === 'ready', { timeoutMs: 20_000, what: 'the reopened index ready' });
      await vscode.workspace.fs.delete(to);
    });

    it('honours files.exclude and the size limit, and reports skipped files', async () => {
      const { services } = await api();
      await setSetting('files.exclude', { '**/docs': true });
      await waitFor(async () => !(await search('licence')).some((h) => h.relPath.startsWith('docs/')), { timeoutMs: 20_000, what: 'docs/ excluded' });
      await setSetting('files.exclude', undefined);
      await waitFor(async () => (await search('licence')).some((h) => h.relPath.startsWith('docs/')), { timeoutMs: 20_000, what: 'docs/ back' });

      const big = vscode.Uri.joinPath(folder(), `search-big-${Date.now()}.txt`);
      created.push(big);
      await vscode.workspace.fs.writeFile(big, new TextEncoder().encode('wombat '.repeat(400)));
      await setSetting('bertLens.search.maxFileSize', 1024);
      await waitFor(() => services.search.state.kind === 'notIndexed', { what: 'the index closed for the new limit' });
      await services.search.indexWorkspace();
      assert.deepEqual(services.search.skipped.map((s) => [s.relPath, s.reason]), [[path.basename(big.path), 'tooLarge']]);
      assert.equal((await search('wombat')).length, 0);
      await setSetting('bertLens.search.maxFileSize', undefined);
      await vscode.workspace.fs.delete(big);
    });

    it('keys vectors by model: another model opens its own index, and switching back reuses the first', async () => {
      const { services } = await api();
      await services.search.indexWorkspace();
      const first = services.search.stats()!;
      await setSetting('bertLens.model', fixture('tiny-bert-wide'));
      await waitFor(() => services.search.state.kind === 'notIndexed', { what: 'the old index closed' });
      const created = await services.search.indexWorkspace();
      assert.equal(created!.chunksEmbedded, services.search.stats()!.liveTexts, 'the new model embeds every distinct passage into its own index');
      const wide = services.search.stats()!;
      assert.notEqual(wide.storePath, first.storePath, 'one store per model');
      assert.ok((await search('retry uploads exponential backoff', 'vector')).length > 0);

      await setSetting('bertLens.model', fixture('tiny-bert'));
      await waitFor(() => services.search.state.kind === 'notIndexed', { what: 'the wide index closed' });
      const summary = await services.search.indexWorkspace();
      assert.equal(services.search.stats()!.storePath, first.storePath);
      assert.equal(summary!.chunksEmbedded, 0, 'the first model’s stored vectors are used as they are');
      assert.ok((await search('retry uploads', 'hybrid')).length > 0);
    });

    it('Search for Selection cuts a long selection before tidying its whitespace', async () => {
      const { services } = await api();
      const raw = `${'  alpha\n\n'.repeat(1000)}${'omega '.repeat(100_000)}`;
      const doc = await vscode.workspace.openTextDocument({ content: raw, language: 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(doc.positionAt(0), doc.positionAt(raw.length));
      const panel = services.searchPanel;
      const show = panel.show;
      let shown: string | undefined;
      panel.show = (query?: string) => void (shown = query);
      try {
        panel.searchSelection(editor);
      } finally {
        panel.show = show;
      }
      assert.equal(shown, raw.slice(0, MAX_QUERY_CHARS).replace(/\s+/g, ' ').trim());
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    });

    it('a panel page rebuilt after being hidden gets answers again: its ready drops the old page’s search', async () => {
      const { services } = await api();
      await vscode.commands.executeCommand('bertLens.search');
      await waitFor(() => services.searchPanel.visible, { what: 'the panel' });
      const panel = services.searchPanel as unknown as { channel: { isReady: boolean; onReady(): void }; onMessage(m: SearchViewToHost): Promise<void> };
      // The real page's own `ready` first, so that it does not land in the middle of what follows.
      await waitFor(() => panel.channel.isReady, { what: 'the panel page ready' });
      const search = services.search.search.bind(services.search);
      let stuck: AbortSignal | undefined;
      // The old page's search #40 never finishes on its own.
      services.search.search = (query, request, signal) => {
        if (query !== 'stuck') return search(query, request, signal);
        stuck = signal;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      };
      try {
        void panel.onMessage({ type: 'search', requestId: 40, query: 'stuck', mode: 'lexical', k: 10 });
        await waitFor(() => stuck, { what: 'the old page’s search in flight' });
        const before = services.searchPanel.counts.searches;
        // What a rebuilt page's `ready` does (the channel handles the handshake).
        panel.channel.onReady();
        assert.ok(stuck!.aborted, 'the old page’s search is cancelled');
        await panel.onMessage({ type: 'search', requestId: 1, query: 'licence terms', mode: 'lexical', k: 10 });
        assert.equal(services.searchPanel.counts.searches, before + 1, 'the new page’s first request is answered');
      } finally {
        services.search.search = search;
      }
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    it('the Semantic Search command opens the panel and runs a query from the host', async () => {
      const { services } = await api();
      const before = services.searchPanel.counts.searches;
      await vscode.commands.executeCommand('bertLens.search', 'licence terms');
      await waitFor(() => services.searchPanel.visible, { what: 'the panel' });
      await waitFor(() => services.searchPanel.counts.searches > before, { timeoutMs: 20_000, what: 'a search answered for the panel' });
      const tab = vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('bertLens.search'));
      assert.ok(tab, 'a Semantic Search tab');
      assert.equal(tab.label, 'Semantic Search');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    it('a panel VS Code restores after a search opened one is closed, not left without a host side', async () => {
      const { services } = await api();
      await vscode.commands.executeCommand('bertLens.search');
      await waitFor(() => services.searchPanel.visible, { what: 'the panel' });
      // VS Code restores the previous session's panel only now (its tab was in the background).
      const restored = vscode.window.createWebviewPanel(SearchPanel.viewType, 'Semantic Search (restored)', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
      let restoredClosed = false;
      restored.onDidDispose(() => (restoredClosed = true));
      services.searchPanel.revive(restored);
      assert.ok(restoredClosed, 'the restored panel is closed');
      // The workbench's tab model follows the extension host's panels a moment later.
      const labels = (): string[] => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(SearchPanel.viewType)).map((t) => t.label);
      await waitFor(() => labels().length === 1, { what: `one Semantic Search tab (tabs: ${labels().join(', ')})` });
      assert.deepEqual(labels(), ['Semantic Search'], 'the panel in use is kept');
      const before = services.searchPanel.counts.searches;
      await vscode.commands.executeCommand('bertLens.search', 'licence terms');
      await waitFor(() => services.searchPanel.counts.searches > before, { timeoutMs: 20_000, what: 'the panel in use still answers' });
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });
  });
}
