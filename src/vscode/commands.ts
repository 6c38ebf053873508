import * as vscode from 'vscode';
import type { SelectModelArgs } from './models/modelPicker';
import type { Services } from './services';

/** Every command BERT Lens contributes, by id. Ids match `contributes.commands` in package.json. */
export const commandTable: Readonly<Record<string, (services: Services, ...args: unknown[]) => unknown>> = {
  'bertLens.inspectAttention': (s) => s.inspector.inspectSelection(),
  'bertLens.showLogs': (s) => s.logger.show(),
  'bertLens.selectModel': (s, args) => s.modelsUi.selectModel(args as SelectModelArgs),
  'bertLens.manageModels': (s) => s.modelsUi.manageModels(),
  'bertLens.exportAttentionJson': (s, target) => s.inspector.exportJson(target instanceof vscode.Uri ? target : undefined),
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

export function registerCommands(services: Services): vscode.Disposable[] {
  return Object.entries(commandTable).map(([id, handler]) =>
    vscode.commands.registerCommand(id, (...args: unknown[]) => handler(services, ...args)),
  );
}
