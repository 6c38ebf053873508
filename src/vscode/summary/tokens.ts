import * as vscode from 'vscode';

/** An AbortSignal that aborts when `token` is cancelled (for worker and core calls). */
export function signalOf(token: vscode.CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else {
    const sub = token.onCancellationRequested(() => {
      sub.dispose();
      controller.abort();
    });
  }
  return controller.signal;
}

/** A cancellation token that is cancelled when `signal` aborts (for VS Code-side services). */
export function tokenOf(signal: AbortSignal): vscode.CancellationToken {
  const source = new vscode.CancellationTokenSource();
  if (signal.aborted) source.cancel();
  else signal.addEventListener('abort', () => source.cancel(), { once: true });
  return source.token;
}
