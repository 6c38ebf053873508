import * as vscode from 'vscode';
import type { IndexState } from '../../protocol/search';
import type { SearchService } from './searchService';

/** Text and tooltip of the status-bar item for an index state (codicons in `$(…)`). */
export function statusBarText(state: IndexState): { text: string; tooltip: string } {
  const n = (x: number): string => x.toLocaleString('en-US');
  switch (state.kind) {
    case 'notIndexed':
      return { text: '$(search) Not indexed', tooltip: `${state.reason ?? 'The workspace is not indexed yet.'} Click to search: the first search indexes it.` };
    case 'opening':
      return { text: '$(sync~spin) Loading model', tooltip: state.message };
    case 'indexing':
      return {
        text: state.phase === 'scanning' ? '$(sync~spin) Indexing…' : `$(sync~spin) Indexing ${state.percent}%`,
        tooltip: `Indexing with ${state.model}: ${n(state.filesDone)} of ${n(state.filesTotal)} files, ${n(state.chunksEmbedded)} passages embedded (${state.phase}).`,
      };
    case 'ready': {
      const skipped = state.skipped.tooLarge + state.skipped.binary + state.skipped.unreadable + state.skipped.special;
      return {
        text: `$(search) ${n(state.chunks)} chunks${state.partial ? ' (partial)' : ''}`,
        tooltip:
          `Semantic index (${state.model}): ${n(state.files)} files, ${n(state.chunks)} passages` +
          (skipped > 0 ? `, ${n(skipped)} files skipped` : '') +
          (state.partial ? '. Indexing was cancelled: run “Index Workspace for Semantic Search” to finish it' : '') +
          '. Click to search.',
      };
    }
    case 'error':
      return { text: '$(error) Index error', tooltip: `${state.message} Click to search again.` };
  }
}

/** The status-bar item showing the index state; clicking it opens the search panel. */
export class SearchStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('bertLens.searchIndex', vscode.StatusBarAlignment.Left, 0);
  private readonly subscription: vscode.Disposable;

  constructor(search: SearchService) {
    this.item.name = 'BERT Lens Semantic Index';
    this.item.command = 'bertLens.search';
    this.render(search.state);
    this.subscription = search.onDidChangeState((s) => this.render(s));
    if (vscode.workspace.workspaceFolders?.length) this.item.show();
  }

  private render(state: IndexState): void {
    const { text, tooltip } = statusBarText(state);
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = state.kind === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.accessibilityInformation = { label: `BERT Lens semantic index: ${text.replace(/\$\([^)]*\)\s*/g, '')}` };
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
