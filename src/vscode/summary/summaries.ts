import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelWorkerClient } from '../../core/worker/modelWorkerClient';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { ModelService } from '../modelService';
import { HoverSummaries } from './hoverSummaries';
import { HoverWarmer } from './hoverWarmer';
import { SummaryScheduler } from './scheduler';
import { Seq2SeqModels } from './seq2seqModels';
import { SummaryCache } from './summaryCache';
import { SummaryController } from './summaryController';
import { SummaryHoverProvider } from './summaryHoverProvider';
import { SummaryPanel } from './summaryPanel';
import { SummaryStore, type SummaryStats } from './summaryStore';
import { SummaryTargets } from './summaryTargets';

/**
 * Everything about summaries, built once: the Summary panel and its commands, summary hovers with their cache
 * (memory + `<globalStorage>/summaries/hover-summaries.json`) and background warming, and the seq2seq models.
 */
export class Summaries implements vscode.Disposable {
  readonly seq2seq: Seq2SeqModels;
  readonly scheduler = new SummaryScheduler();
  readonly cache: SummaryCache;
  readonly store: SummaryStore;
  readonly targets = new SummaryTargets();
  readonly panel: SummaryPanel;
  readonly controller: SummaryController;
  readonly hovers: HoverSummaries;
  readonly hoverProvider: SummaryHoverProvider;
  private warmer: HoverWarmer | undefined;

  constructor(context: vscode.ExtensionContext, config: Config, worker: ModelWorkerClient, models: ModelService, private readonly logger: Logger) {
    const storage = context.globalStorageUri.fsPath;
    this.seq2seq = new Seq2SeqModels(config, worker, path.join(storage, 'models'), logger.child('summary-models'));
    this.cache = new SummaryCache(path.join(storage, 'summaries', 'hover-summaries.json'), { log: (m) => logger.warn(m) });
    void this.cache.load();
    this.store = new SummaryStore(this.cache, this.scheduler, (m) => logger.warn(m));
    this.panel = new SummaryPanel(context.extensionUri, logger.child('summary-panel'));
    this.controller = new SummaryController(config, worker, models, this.seq2seq, this.scheduler, this.targets, this.panel, logger.child('summary'));
    this.hovers = new HoverSummaries(this.store, this.targets, config, worker, this.seq2seq, logger.child('hover'));
    this.hoverProvider = new SummaryHoverProvider(this.hovers);
  }

  /** Hover counters since activation: `{ hits, misses, computed, … }`. */
  get stats(): SummaryStats {
    return this.store.stats;
  }

  /** Registers the hover provider, the panel serializer and the background warmer. */
  register(): vscode.Disposable[] {
    this.warmer = new HoverWarmer(this.hovers, this.scheduler);
    return [
      vscode.languages.registerHoverProvider('*', this.hoverProvider),
      vscode.window.registerWebviewPanelSerializer(SummaryPanel.viewType, {
        deserializeWebviewPanel: async (panel) => this.panel.revive(panel),
      }),
      this.warmer,
    ];
  }

  /** Shows the hover counters (also how the browser tests read them). */
  showStats(): void {
    const s = this.stats;
    const message =
      `BERT Lens summary cache: ${s.hits} hits, ${s.misses} misses, ${s.computed} computed ` +
      `(${s.backgroundComputed} in the background, ${s.preempted} stopped), ${s.failed} failed, ${s.cached} cached.`;
    this.logger.info(message);
    void vscode.window.showInformationMessage(message);
  }

  dispose(): void {
    this.controller.dispose();
    this.panel.dispose();
    this.targets.dispose();
    this.seq2seq.dispose();
    this.scheduler.cancelBackground();
    void this.cache.dispose();
  }
}
