import * as vscode from 'vscode';
import type { Services } from './services';

/** Every command BERT Lens contributes, by id. Ids match `contributes.commands` in package.json. */
export const commandTable: Readonly<Record<string, (services: Services, ...args: unknown[]) => unknown>> = {
  'bertLens.inspectAttention': (s) => s.inspector.inspectSelection(),
  'bertLens.showLogs': (s) => s.logger.show(),
};

export function registerCommands(services: Services): vscode.Disposable[] {
  return Object.entries(commandTable).map(([id, handler]) =>
    vscode.commands.registerCommand(id, (...args: unknown[]) => handler(services, ...args)),
  );
}
