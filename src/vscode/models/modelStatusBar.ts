import * as path from 'node:path';
import * as vscode from 'vscode';
import { modelDisplayName, parseModelRef } from '../../core/models/modelRef';
import type { Config } from '../config';
import { escapeMarkdown, markdownCode as code } from '../markdown';
import type { ModelService } from '../modelService';
import { describeState, type ModelState } from './modelStates';
import { availableRoles, roleDtype, roleModel } from './roleSettings';
import type { RuntimeNotice } from './runtimeNotice';

const STATE_ICON: Record<ModelState['kind'], string> = {
  notDownloaded: ' $(cloud-download)',
  downloading: ' $(sync~spin)',
  available: '',
  loading: ' $(loading~spin)',
  ready: '',
  error: ' $(error)',
};

/** A short name for the status bar: the Hub name without its owner, a folder's name, a bundled model's name. */
export function shortModelName(value: string): string {
  try {
    const ref = parseModelRef(value);
    if (ref.kind === 'hub') return ref.id.split('/')[1]! + (ref.revision === 'main' ? '' : `@${ref.revision}`);
    if (ref.kind === 'folder') return path.basename(ref.path);
    return 'USE lite (bundled)';
  } catch {
    return value;
  }
}

/**
 * The status-bar item of the models: the embeddings/attention model and its state (not downloaded, downloading n%,
 * loading, ready, error), a shield while workspace settings are ignored (restricted mode), and a tooltip listing
 * every role's model, the runtime and what was ignored. Clicking it opens the model picker.
 */
export class ModelStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('bertLens.models', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];
  /** The tooltip as plain text (read by tests). */
  tooltipText = '';

  constructor(
    private readonly models: ModelService,
    private readonly config: Config,
    private readonly runtime: RuntimeNotice,
  ) {
    this.item.name = 'BERT Lens Models';
    this.item.command = { command: 'bertLens.selectModel', title: 'Choose a Model' };
    this.disposables.push(
      this.item,
      models.states.onDidChange(() => this.update()),
      config.onDidChange(() => this.update()),
      runtime.onDidChange(() => this.update()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.update()),
    );
    this.update();
    this.item.show();
  }

  /** The item's text (read by tests). */
  get text(): string {
    return this.item.text;
  }

  update(): void {
    const model = roleModel('embeddings');
    const fallback = this.models.fallbackReason;
    const shown = fallback ? 'bundled:use-lite' : model;
    const state = this.models.states.get(this.models.stateKey(shown, fallback ? 'fp32' : roleDtype('embeddings')));
    const ignored = this.config.ignoredWorkspaceSettings;
    const percent = state.kind === 'downloading' ? ` ${Math.floor(state.percent)}%` : '';
    this.item.text = `${ignored.length > 0 ? '$(shield) ' : ''}$(circuit-board) ${shortModelName(shown)}${STATE_ICON[state.kind]}${percent}`;
    this.item.accessibilityInformation = { label: `BERT Lens model ${shortModelName(shown)}: ${describeState(state)}` };
    this.item.backgroundColor = state.kind === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;

    const lines: string[] = [];
    for (const role of availableRoles()) {
      const value = roleModel(role.role);
      const dtype = roleDtype(role.role);
      const roleState = describeState(this.models.states.get(this.models.stateKey(value, dtype)));
      const usesFallback = role.role === 'embeddings' && fallback;
      // Setting values and error messages come from settings files and the network: escaped, never markup.
      lines.push(`**${role.label}**: ${code(modelDisplayName(value))} (${dtype}) — ${escapeMarkdown(roleState)}${usesFallback ? `; using the bundled encoder instead: ${escapeMarkdown(fallback)}` : ''}`);
      const error = this.models.states.get(this.models.stateKey(value, dtype));
      if (error.kind === 'error' && !usesFallback) lines.push(`  ${escapeMarkdown(error.message)}`);
    }
    const runtime = this.runtime.runtime;
    if (runtime) lines.push(runtime.kind === 'native' ? 'Runtime: native onnxruntime' : `Runtime: WebAssembly (onnxruntime-web), because ${escapeMarkdown(runtime.reason)}`);
    if (ignored.length > 0) {
      lines.push(
        `$(shield) Restricted mode: this workspace is not trusted, so its ${ignored.map((s) => `${code(s.key)} (${s.reason})`).join(', ')} ` +
          'is ignored. [Manage Workspace Trust](command:workbench.trust.manage)',
      );
    }
    lines.push('[Choose a model](command:bertLens.selectModel) · [Manage downloaded models](command:bertLens.manageModels)');
    const tooltip = new vscode.MarkdownString(lines.join('\n\n'), true);
    tooltip.supportHtml = false;
    tooltip.isTrusted = { enabledCommands: ['bertLens.selectModel', 'bertLens.manageModels', 'workbench.trust.manage'] };
    this.item.tooltip = tooltip;
    this.tooltipText = lines.join('\n');
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
