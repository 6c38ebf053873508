import * as vscode from 'vscode';
import type { Dtype } from '../protocol/worker';
import { DEFAULT_MODEL } from '../core/models/modelRef';
import { restrictedWorkspaceValues, withAdmittedWorkspaceModels, type IgnoredSetting } from './models/workspaceTrust';

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
  // Untrusted workspace: VS Code ignores its model folders and mirror (restrictedConfigurations); Hub ids still count.
  const c = withAdmittedWorkspaceModels(vscode.workspace.getConfiguration(SECTION), SECTION);
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
    const reread = (): void => {
      this.current = readSettings();
      this.emitter.fire(this.current);
    };
    this.subscription = vscode.Disposable.from(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) reread();
      }),
      // Trusting the workspace brings its model folders and mirror into effect.
      vscode.workspace.onDidGrantWorkspaceTrust(reread),
    );
  }

  get settings(): BertLensSettings {
    return this.current;
  }

  /** Workspace values of model folders and mirror hosts that are ignored because the workspace is not trusted. */
  get ignoredWorkspaceSettings(): readonly IgnoredSetting[] {
    return restrictedWorkspaceValues(SECTION).ignored;
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
