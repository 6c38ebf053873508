import * as path from 'node:path';
import * as vscode from 'vscode';
import { deleteCachedModel, formatBytes, listCachedModels, type CachedModel } from '../../core/models/modelCache';
import { describeModelRef, parseModelRef } from '../../core/models/modelRef';
import type { ModelWorkerClient } from '../../core/worker/modelWorkerClient';
import type { Logger } from '../logger';
import type { ModelService } from '../modelService';
import { availableRoles, roleModel } from './roleSettings';
import type { SearchService } from '../search/searchService';

interface ModelItem extends vscode.QuickPickItem {
  readonly model?: CachedModel;
  readonly action?: 'revealCache' | 'copyCache' | 'choose';
}

const DELETE: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Delete' };
const COPY: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('copy'), tooltip: 'Copy Path' };
const REVEAL: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('folder-opened'), tooltip: 'Reveal in File Explorer' };

/** "3 days ago", "just now". */
export function timeAgo(ms: number, now: number = Date.now()): string {
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return 'just now';
  const units: [number, string][] = [[31_536_000, 'year'], [2_592_000, 'month'], [86_400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, name] of units) {
    const n = Math.floor(s / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'} ago`;
  }
  return 'just now';
}

/**
 * `bertLens.manageModels`: the downloaded models with their size and last use; delete them (after a confirmation),
 * copy or reveal where they live.
 */
export class ModelManager {
  constructor(
    private readonly models: ModelService,
    private readonly worker: ModelWorkerClient,
    private readonly logger: Logger,
    private readonly search?: Pick<SearchService, 'onModelDeleted'>,
  ) {}

  /** Folder holding the downloaded models. */
  get cacheFolder(): string {
    return path.join(this.models.modelCacheDir, 'hub');
  }

  list(): Promise<CachedModel[]> {
    return listCachedModels(this.models.modelCacheDir);
  }

  /** The roles (by label) that use a cached model now. */
  usedBy(model: CachedModel): string[] {
    return availableRoles()
      .filter((r) => {
        try {
          return describeModelRef(parseModelRef(roleModel(r.role))) === model.ref;
        } catch {
          return false;
        }
      })
      .map((r) => r.label.toLowerCase());
  }

  /** The picker rows: one per downloaded model, then where they live. */
  async items(): Promise<ModelItem[]> {
    const cached = await this.list();
    const canReveal = vscode.env.uiKind === vscode.UIKind.Desktop && vscode.env.remoteName === undefined;
    const items: ModelItem[] = cached.map((m) => {
      const used = this.usedBy(m);
      const facts = [
        formatBytes(m.bytes),
        m.lastUsed ? `used ${timeAgo(m.lastUsed)}` : `downloaded ${timeAgo(m.modified)}`,
        ...(used.length > 0 ? [`in use for ${used.join(', ')}`] : []),
        ...(m.partialBytes > 0 ? [`${formatBytes(m.partialBytes)} unfinished`] : []),
        ...(m.complete ? [] : ['incomplete']),
      ];
      return {
        label: `${m.complete ? '$(database)' : '$(warning)'} ${m.ref}`,
        description: facts.join(' · '),
        detail: `${m.onnxFiles.join(', ') || 'no ONNX file yet'} — ${m.dir}`,
        buttons: canReveal ? [REVEAL, COPY, DELETE] : [COPY, DELETE],
        model: m,
      };
    });
    if (items.length === 0) items.push({ label: 'No models downloaded yet', description: 'Hub models download on first use', action: 'choose' });
    const total = cached.reduce((s, m) => s + m.bytes, 0);
    items.push({ label: `Stored in ${this.cacheFolder}`, kind: vscode.QuickPickItemKind.Separator });
    if (canReveal) items.push({ label: '$(folder-opened) Reveal the Model Folder', description: formatBytes(total), action: 'revealCache' });
    items.push({ label: '$(copy) Copy the Model Folder Path', description: canReveal ? '' : formatBytes(total), action: 'copyCache' });
    items.push({ label: '$(add) Choose a Model…', action: 'choose' });
    return items;
  }

  async show(): Promise<void> {
    const quickPick = vscode.window.createQuickPick<ModelItem>();
    quickPick.title = 'BERT Lens: Downloaded Models';
    quickPick.placeholder = 'Pick a model to delete it or see where it is; the buttons do the same';
    quickPick.matchOnDescription = true;
    quickPick.busy = true;
    quickPick.show();
    const refresh = async (): Promise<void> => {
      quickPick.items = await this.items();
      quickPick.busy = false;
    };
    await refresh();
    quickPick.onDidTriggerItemButton(async ({ item, button }) => {
      if (!item.model) return;
      if (button === DELETE && (await this.delete(item.model))) await refresh();
      else if (button === COPY) await this.copyPath(item.model.dir);
      else if (button === REVEAL) await this.reveal(item.model.dir);
    });
    quickPick.onDidAccept(async () => {
      const item = quickPick.selectedItems[0];
      if (!item) return;
      if (item.action === 'copyCache') return void (await this.copyPath(this.cacheFolder));
      if (item.action === 'revealCache') return void (await this.reveal(this.cacheFolder));
      quickPick.hide();
      if (item.action === 'choose') await vscode.commands.executeCommand('bertLens.selectModel');
      else if (item.model) await this.actOn(item.model);
    });
    await new Promise<void>((resolve) => quickPick.onDidHide(() => resolve()));
    quickPick.dispose();
  }

  private async actOn(model: CachedModel): Promise<void> {
    const canReveal = vscode.env.uiKind === vscode.UIKind.Desktop && vscode.env.remoteName === undefined;
    const actions = ['$(trash) Delete…', ...(canReveal ? ['$(folder-opened) Reveal in File Explorer'] : []), '$(copy) Copy Path'];
    const action = await vscode.window.showQuickPick(actions, { title: `${model.ref} (${formatBytes(model.bytes)})`, placeHolder: model.dir });
    if (action?.includes('Delete')) {
      if (await this.delete(model)) await this.show();
    } else if (action?.includes('Reveal')) await this.reveal(model.dir);
    else if (action?.includes('Copy')) await this.copyPath(model.dir);
  }

  /**
   * Deletes a downloaded model after asking (unless `confirmed`). A model in use is unloaded from the worker
   * first and downloads again on its next use. Resolves with whether it was deleted.
   */
  async delete(model: CachedModel, options: { confirmed?: boolean } = {}): Promise<boolean> {
    const used = this.usedBy(model);
    if (!options.confirmed) {
      const note = used.length > 0 ? ` It is the model for ${used.join(' and ')}: it downloads again the next time it is needed.` : '';
      const choice = await vscode.window.showWarningMessage(
        `Delete ${model.ref} (${formatBytes(model.bytes)}) from this computer?${note}`,
        { modal: true, detail: model.dir },
        'Delete',
      );
      if (choice !== 'Delete') return false;
    }
    // First, so background indexing cannot load the model again while its folder goes away.
    await this.search?.onModelDeleted(model.dir);
    for (const dtype of ['fp32', 'q8'] as const) {
      await this.worker.request({ type: 'unload', model: { ref: model.ref, dir: model.dir, dtype } }).catch(() => false);
      this.models.states.reset(this.models.stateKey(model.ref, dtype));
    }
    try {
      const freed = await deleteCachedModel(model);
      this.logger.info(`deleted ${model.ref} (${model.dir}), ${formatBytes(freed)} freed`);
      void vscode.window.showInformationMessage(`Deleted ${model.ref}: ${formatBytes(freed)} freed.`);
      return true;
    } catch (e) {
      this.logger.error(`could not delete ${model.dir}`, e);
      void vscode.window.showErrorMessage(`BERT Lens could not delete ${model.ref}: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }

  private async copyPath(dir: string): Promise<void> {
    await vscode.env.clipboard.writeText(dir);
    void vscode.window.showInformationMessage(`Copied ${dir}`);
  }

  private async reveal(dir: string): Promise<void> {
    await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(dir));
  }
}
