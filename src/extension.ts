import * as vscode from 'vscode';
import { registerCommands } from './vscode/commands';
import { createServices, type Services } from './vscode/services';
import { AttentionViewProvider } from './vscode/attentionViewProvider';

/** What `activate` returns: the services, so integration tests can reach them through `extension.exports`. */
export interface BertLensApi {
  readonly services: Services;
  /** Milliseconds `activate` took. */
  readonly activationMs: number;
}

export function activate(context: vscode.ExtensionContext): BertLensApi | undefined {
  const started = performance.now();
  try {
    const services = createServices(context);
    context.subscriptions.push(
      ...registerCommands(services),
      vscode.window.registerWebviewViewProvider(AttentionViewProvider.viewType, services.attentionView),
      ...services.summaries.register(),
    );
    const activationMs = performance.now() - started;
    services.logger.info(`activated in ${activationMs.toFixed(1)} ms`);
    return { services, activationMs };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    void vscode.window.showErrorMessage(`BERT Lens failed to start: ${message}`, 'Report Issue').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openIssueReporter');
    });
    return undefined;
  }
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions, the model worker included.
}
