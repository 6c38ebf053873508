import { modelLimitsEnv } from '../protocol/modelLimits';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { ModelWorkerClient } from '../core/worker/modelWorkerClient';
import { AttentionInspector } from './attentionInspector';
import { AttentionViewProvider } from './attentionViewProvider';
import { Config } from './config';
import { Logger } from './logger';
import { ModelService } from './modelService';
import { Summaries } from './summary/summaries';
import { SearchPanel } from './search/searchPanel';
import { SearchService } from './search/searchService';
import { SearchStatusBar } from './search/searchStatusBar';
import { ModelsUi } from './models/modelsUi';
import { RuntimeNotice } from './models/runtimeNotice';

/** The extension's services, built once in {@link createServices} and handed to commands and views. */
export interface Services {
  readonly context: vscode.ExtensionContext;
  readonly logger: Logger;
  readonly config: Config;
  readonly worker: ModelWorkerClient;
  readonly models: ModelService;
  /** Model picker, downloaded-models manager, status-bar item. */
  readonly modelsUi: ModelsUi;
  readonly attentionView: AttentionViewProvider;
  readonly inspector: AttentionInspector;
  readonly summaries: Summaries;
  readonly search: SearchService;
  readonly searchPanel: SearchPanel;
}

export function createServices(context: vscode.ExtensionContext): Services {
  const { channel, logger } = Logger.create();
  const config = new Config();
  const runtimeNotice = new RuntimeNotice(logger.child('runtime'));
  const worker = new ModelWorkerClient({
    workerScript: path.join(context.extensionPath, 'dist', 'worker.js'),
    log: (m) => logger.child('worker').info(m),
    onNotice: (n) => runtimeNotice.handle(n),
    env: () => modelLimitsEnv(config.settings.modelLimits),
  });
  const models = new ModelService(config, worker, path.join(context.globalStorageUri.fsPath, 'models'), logger.child('models'));
  const search = new SearchService(context, config, models, worker, logger.child('search'));
  const modelsUi = new ModelsUi(models, worker, config, runtimeNotice, logger.child('models-ui'), search);
  const attentionView = new AttentionViewProvider(context.extensionUri, logger.child('attention-view'));
  const inspector = new AttentionInspector(models, attentionView, config, logger.child('attention'));
  const summaries = new Summaries(context, config, worker, models, logger.child('summaries'));
  const searchPanel = new SearchPanel(context.extensionUri, search, logger.child('search-panel'));
  context.subscriptions.push(
    channel,
    config,
    models,
    runtimeNotice,
    modelsUi,
    attentionView,
    inspector,
    summaries,
    searchPanel,
    new SearchStatusBar(search),
    search,
    { dispose: () => void worker.dispose() },
  );
  return { context, logger, config, worker, models, modelsUi, attentionView, inspector, summaries, search, searchPanel };
}
