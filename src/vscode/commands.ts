import * as vscode from 'vscode';
import type { ModelRole } from './models/modelCatalog';
import type { Services } from './services';

/** Every command BERT Lens contributes, by id. Ids match `contributes.commands` in package.json. */
export const commandTable: Readonly<Record<string, (services: Services, ...args: unknown[]) => unknown>> = {
  'bertLens.inspectAttention': (s) => s.inspector.inspectSelection(),
  'bertLens.showLogs': (s) => s.logger.show(),
  // From a command (palette, status bar, a link) only the role may be preset: choosing the model is the user's.
  'bertLens.selectModel': (s, args) => s.modelsUi.selectModel(roleOf(args)),
  'bertLens.manageModels': (s) => s.modelsUi.manageModels(),
  'bertLens.exportAttentionJson': (s) => s.inspector.exportJson(),
  'bertLens.pinAttention': (s) => s.inspector.setPinned(true),
  'bertLens.unpinAttention': (s) => s.inspector.setPinned(false),
  'bertLens.summarizeDocument': (s) => s.summaries.controller.summarizeDocument(),
  'bertLens.summarizeSelection': (s) => s.summaries.controller.summarizeSelection(),
  'bertLens.summarizeSymbol': (s) => s.summaries.controller.summarizeSymbol(),
  'bertLens.showSummaryStats': (s) => s.summaries.showStats(),
  'bertLens.search': (s, query) => s.searchPanel.show(typeof query === 'string' ? query : undefined),
  'bertLens.searchSelection': (s) => s.searchPanel.searchSelection(),
  'bertLens.indexWorkspace': (s) => s.search.indexWorkspace().catch((e: unknown) => s.search.reportError('Could not index the workspace', e)),
};

function roleOf(args: unknown): ModelRole | undefined {
  const role = typeof args === 'string' ? args : typeof args === 'object' && args !== null ? (args as { role?: unknown }).role : undefined;
  return role === 'embeddings' || role === 'summaries' || role === 'hovers' ? role : undefined;
}

export function registerCommands(services: Services): vscode.Disposable[] {
  return Object.entries(commandTable).map(([id, handler]) =>
    vscode.commands.registerCommand(id, (...args: unknown[]) => handler(services, ...args)),
  );
}
