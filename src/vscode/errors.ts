import * as vscode from 'vscode';
import { ModelDownloadError } from '../core/models/hubDownloader';
import { ModelRefError } from '../core/models/modelRef';
import { WorkerRequestError } from '../core/worker/modelWorkerClient';
import type { Logger } from './logger';

export function isCancellation(e: unknown): boolean {
  return (
    e instanceof vscode.CancellationError ||
    (e instanceof WorkerRequestError && e.code === 'cancelled') ||
    (e instanceof ModelDownloadError && e.kind === 'cancelled')
  );
}

/** Whether the fix for this error is most likely a different model setting. */
function isModelProblem(e: unknown): boolean {
  if (e instanceof ModelRefError) return true;
  if (e instanceof ModelDownloadError) return e.kind === 'notFound' || e.kind === 'offline';
  if (e instanceof WorkerRequestError) return e.code === 'modelNotFound' || e.code === 'badModel' || e.code === 'attentionUnavailable';
  return false;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Shows an error with the action most likely to fix it; logs it either way. Cancellations are silent.
 * `retry` adds a Retry button.
 */
export async function reportError(logger: Logger, what: string, e: unknown, retry?: () => unknown): Promise<void> {
  if (isCancellation(e)) return;
  logger.error(what, e);
  const actions = [isModelProblem(e) ? 'Open Settings' : undefined, retry ? 'Retry' : undefined, 'Show Logs'].filter(
    (a): a is string => a !== undefined,
  );
  const choice = await vscode.window.showErrorMessage(`BERT Lens: ${what}. ${errorMessage(e)}`, ...actions);
  if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'bertLens.model');
  else if (choice === 'Show Logs') logger.show();
  else if (choice === 'Retry') retry?.();
}

/** A page asked about something no longer kept (attention maps replaced since): expected, not a fault. */
function isExpired(e: unknown): boolean {
  return e instanceof WorkerRequestError && e.code === 'expired';
}

/**
 * A request from a webview failed. Logged (expected conditions at debug level, without a stack) and said in the
 * status bar for a while, never as a notification: a page, however broken or hostile, cannot raise one. The page
 * itself shows what went wrong where it can.
 */
export function reportViewRequestError(logger: Logger, what: string, e: unknown): void {
  if (isCancellation(e)) return;
  if (isExpired(e)) {
    logger.debug(`${what}: ${errorMessage(e)}`);
    return;
  }
  logger.error(what, e);
  vscode.window.setStatusBarMessage(`$(warning) BERT Lens: ${what}. ${errorMessage(e)}`, 10_000);
}

/** Bridges a VS Code cancellation token to an AbortSignal for core and worker calls. */
export function abortSignalFor(token: vscode.CancellationToken): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  const sub = token.onCancellationRequested(() => controller.abort());
  return { signal: controller.signal, dispose: () => sub.dispose() };
}

/**
 * Waits for `work` on behalf of one caller: rejects with a CancellationError as soon as `token` is cancelled, while
 * the work itself (shared with other callers) goes on.
 */
export function raceCancellation<T>(work: Promise<T>, token: vscode.CancellationToken): Promise<T> {
  if (token.isCancellationRequested) return Promise.reject(new vscode.CancellationError());
  return new Promise<T>((resolve, reject) => {
    const sub = token.onCancellationRequested(() => {
      sub.dispose();
      reject(new vscode.CancellationError());
    });
    work.then(
      (v) => {
        sub.dispose();
        resolve(v);
      },
      (e: unknown) => {
        sub.dispose();
        reject(e);
      },
    );
  });
}
