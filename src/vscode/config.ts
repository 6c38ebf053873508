import * as vscode from 'vscode';
import type { Dtype } from '../protocol/worker';
import { DEFAULT_MODEL } from '../core/models/modelRef';

export const SECTION = 'bertLens';

/** Typed snapshot of the `bertLens.*` settings. */
export interface BertLensSettings {
  /** Hub id or local folder of the BERT model for embeddings and attention. */
  readonly model: string;
  readonly dtype: Dtype;
  /** Base URL of the Hub or a mirror; empty means https://huggingface.co. */
  readonly hubMirror: string;
  readonly allowDownloads: boolean;
  /** Whether the Attention view re-inspects the editor selection as it changes (unless pinned). */
  readonly attentionFollowsSelection: boolean;
}

export function readSettings(): BertLensSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const dtype = c.get<string>('dtype');
  return {
    model: c.get<string>('model')?.trim() || DEFAULT_MODEL,
    dtype: dtype === 'q8' ? 'q8' : 'fp32',
    hubMirror: c.get<string>('hubMirror')?.trim() ?? '',
    allowDownloads: c.get<boolean>('allowDownloads') ?? true,
    attentionFollowsSelection: c.get<boolean>('attention.followSelection') ?? true,
  };
}

/** Holds the current settings and tells listeners when any `bertLens.*` setting changes. */
export class Config implements vscode.Disposable {
  private current = readSettings();
  private readonly emitter = new vscode.EventEmitter<BertLensSettings>();
  private readonly subscription: vscode.Disposable;
  readonly onDidChange = this.emitter.event;

  constructor() {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      this.current = readSettings();
      this.emitter.fire(this.current);
    });
  }

  get settings(): BertLensSettings {
    return this.current;
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
