import * as vscode from 'vscode';
import type { ModelWorkerClient } from '../../core/worker/modelWorkerClient';
import type { Config } from '../config';
import { reportError } from '../errors';
import type { Logger } from '../logger';
import type { ModelService } from '../modelService';
import { ModelManager } from './manageModels';
import { ModelPicker, type SelectModelArgs } from './modelPicker';
import { ModelStatusBar } from './modelStatusBar';
import type { SearchService } from '../search/searchService';
import type { RuntimeNotice } from './runtimeNotice';

/**
 * Everything the user sees of models: the picker (`bertLens.selectModel`), the downloaded-models manager
 * (`bertLens.manageModels`), the status-bar item, and the note when restricted mode ignores workspace settings.
 */
export class ModelsUi implements vscode.Disposable {
  readonly picker: ModelPicker;
  readonly manager: ModelManager;
  readonly statusBar: ModelStatusBar;
  /** How many times the user was told that workspace settings are ignored (read by tests). */
  ignoredNotices = 0;
  private announced = '';
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly models: ModelService,
    worker: ModelWorkerClient,
    private readonly config: Config,
    /** Which onnxruntime the worker uses; tells the user once about the WebAssembly fallback. */
    readonly runtime: RuntimeNotice,
    private readonly logger: Logger,
    /** Closes the search index of a model before its files are deleted. */
    search?: Pick<SearchService, 'onModelDeleted'>,
  ) {
    this.picker = new ModelPicker(models);
    this.manager = new ModelManager(models, worker, logger, search);
    this.statusBar = new ModelStatusBar(models, config, runtime);
    this.disposables.push(this.statusBar, config.onDidChange(() => this.announceIgnoredSettings()));
    this.announceIgnoredSettings();
  }

  /** `bertLens.selectModel`: resolves with the model written (undefined when the user backed out). */
  async selectModel(args?: SelectModelArgs): Promise<string | undefined> {
    const chosen = await this.picker.select(args);
    if (!chosen) return undefined;
    this.logger.info(`${chosen.role} model set to ${chosen.model}`);
    if (chosen.role === 'embeddings') void this.prepare(chosen.model);
    return chosen.model;
  }

  manageModels(): Promise<void> {
    return this.manager.show();
  }

  /** Downloads and loads a newly chosen embeddings model at once, so the status bar shows it getting ready. */
  private async prepare(model: string): Promise<void> {
    if (this.config.settings.model !== model) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          done.dispose();
          resolve();
        }, 5000);
        const done = this.config.onDidChange((s) => {
          if (s.model !== model) return;
          clearTimeout(timer);
          done.dispose();
          resolve();
        });
      });
    }
    const cts = new vscode.CancellationTokenSource();
    try {
      await this.models.modelInfo(cts.token);
    } catch (e) {
      await reportError(this.logger, `Could not load ${model}`, e);
    } finally {
      cts.dispose();
    }
  }

  /** Tells the user, once per distinct set, which workspace settings restricted mode makes BERT Lens ignore. */
  private announceIgnoredSettings(): void {
    const ignored = this.config.ignoredWorkspaceSettings;
    const key = ignored.map((s) => `${s.key}=${s.value}`).join('\n');
    if (key === this.announced) return;
    this.announced = key;
    if (ignored.length === 0) return;
    this.ignoredNotices++;
    const what = ignored.map((s) => `${s.key} (${s.reason}: ${s.value})`).join(' and ');
    this.logger.warn(`restricted mode: ignoring the workspace's ${what}`);
    void vscode.window
      .showWarningMessage(
        `BERT Lens ignores this workspace's ${what} because the workspace is not trusted. Trust it to use them; until then your user settings apply.`,
        'Manage Workspace Trust',
      )
      .then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
      });
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
