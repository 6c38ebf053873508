import { DEFAULT_MODEL_LIMITS, type ModelLimits } from '../protocol/modelLimits';
import * as vscode from 'vscode';
import type { Dtype } from '../protocol/worker';
import { DEFAULT_MODEL } from '../core/models/modelRef';
import { DEFAULT_MAX_FILE_BYTES, MAX_FILE_BYTES_CEILING } from '../core/search/nodeFileSource';
import { DEFAULT_HOVER_SUMMARY_MODEL, DEFAULT_SUMMARY_MODEL } from '../core/summarize/summaryModels';
import { restrictedWorkspaceValues, type IgnoredSetting } from './models/workspaceTrust';
import { proxyFromEnvironment, type ProxySettings } from '../core/models/proxy';

export const SECTION = 'bertLens';

/** Typed snapshot of the `bertLens.*` settings. */
export interface BertLensSettings {
  /** Hub id or local folder of the BERT model for embeddings and attention. */
  readonly model: string;
  readonly dtype: Dtype;
  /** Base URL of the Hub or a mirror; empty means https://huggingface.co. */
  readonly hubMirror: string;
  /** Proxy for model downloads: VS Code's `http.proxy` (and `http.noProxy`), else HTTPS_PROXY / NO_PROXY. */
  readonly proxy: ProxySettings | undefined;
  readonly allowDownloads: boolean;
  /** Whether the Attention view re-inspects the editor selection as it changes (unless pinned). */
  readonly attentionFollowsSelection: boolean;
  /** `search.maxFileSize`: files (and unsaved editors) larger than this many bytes are left out of the search index. */
  readonly searchMaxFileSize: number;
  /** How many models the worker keeps loaded, and for how long unused (`bertLens.models.*`). */
  readonly modelLimits: ModelLimits;
  /** Index files that workspace links point to outside the workspace (a user setting only: machine scope). */
  readonly searchFollowExternalLinks: boolean;
  readonly summary: SummarySettings;
  readonly hover: HoverSettings;
}

/** `bertLens.summary.*`: the Summary panel and its models. */
export interface SummarySettings {
  /** Seq2seq model (Hub id or folder) for the Summary panel. */
  readonly model: string;
  /** Seq2seq model (Hub id or folder) for abstractive hover summaries. */
  readonly hoverModel: string;
  /** `auto`: abstractive when the seq2seq model can be had, else extractive with the embedding model. */
  readonly mode: 'auto' | 'abstractive' | 'extractive';
  readonly dtype: Dtype;
  /** Most generated tokens; 0 = the model's own default. */
  readonly maxTokens: number;
  /** Sentences an extractive summary picks; 0 = automatic (√sentences, at most 5). */
  readonly sentences: number;
}

/** `bertLens.hover.*`: summaries on hover. */
export interface HoverSettings {
  readonly enabled: boolean;
  /** Language ids that get summary hovers; `*` means all. */
  readonly languages: readonly string[];
  /** Smallest symbol or paragraph, in lines, that gets a summary hover. */
  readonly minLines: number;
  readonly mode: 'extractive' | 'abstractive';
}

export const DEFAULT_HOVER_LANGUAGES: readonly string[] = [
  'typescript', 'typescriptreact', 'javascript', 'javascriptreact', 'python', 'java', 'go', 'rust', 'csharp', 'c', 'cpp',
  'php', 'ruby', 'kotlin', 'swift', 'scala', 'markdown', 'plaintext',
];

function readSummarySettings(c: vscode.WorkspaceConfiguration): Pick<BertLensSettings, 'summary' | 'hover'> {
  const mode = c.get<string>('summary.mode');
  const count = (key: string, fallback: number): number => {
    const v = c.get<number>(key);
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : fallback;
  };
  const languages = c.get<unknown>('hover.languages');
  return {
    summary: {
      model: c.get<string>('summary.model')?.trim() || DEFAULT_SUMMARY_MODEL,
      hoverModel: c.get<string>('summary.hoverModel')?.trim() || DEFAULT_HOVER_SUMMARY_MODEL,
      mode: mode === 'abstractive' || mode === 'extractive' ? mode : 'auto',
      dtype: c.get<string>('summary.dtype') === 'fp32' ? 'fp32' : 'q8',
      maxTokens: count('summary.maxTokens', 0),
      sentences: count('summary.sentences', 0),
    },
    hover: {
      enabled: c.get<boolean>('hover.enabled') ?? true,
      languages: Array.isArray(languages) ? languages.filter((l): l is string => typeof l === 'string') : DEFAULT_HOVER_LANGUAGES,
      minLines: count('hover.minLines', 5),
      mode: c.get<string>('hover.mode') === 'abstractive' ? 'abstractive' : 'extractive',
    },
  };
}

function readProxy(): ProxySettings | undefined {
  const http = vscode.workspace.getConfiguration('http');
  const url = http.get<string>('proxy')?.trim();
  if (url) return { url, noProxy: http.get<string[]>('noProxy') ?? [] };
  return proxyFromEnvironment();
}

export function readSettings(): BertLensSettings {
  // Untrusted workspace: VS Code ignores its model, mirror and summary-mode values (restrictedConfigurations).
  const c = vscode.workspace.getConfiguration(SECTION);
  const dtype = c.get<string>('dtype');
  return {
    model: c.get<string>('model')?.trim() || DEFAULT_MODEL,
    dtype: dtype === 'q8' ? 'q8' : 'fp32',
    hubMirror: c.get<string>('hubMirror')?.trim() ?? '',
    proxy: readProxy(),
    allowDownloads: c.get<boolean>('allowDownloads') ?? true,
    searchFollowExternalLinks: c.get<boolean>('search.followExternalLinks') === true,
    modelLimits: {
      maxLoaded: Math.min(positiveInteger(c.get<number>('models.maxLoaded'), DEFAULT_MODEL_LIMITS.maxLoaded), 16),
      idleMs: Math.min(Math.max(0, c.get<number>('models.idleMinutes') ?? DEFAULT_MODEL_LIMITS.idleMs / 60_000), 24 * 60) * 60_000,
    },
    attentionFollowsSelection: c.get<boolean>('attention.followSelection') ?? true,
    searchMaxFileSize: Math.min(positiveInteger(c.get<number>('search.maxFileSize'), DEFAULT_MAX_FILE_BYTES), MAX_FILE_BYTES_CEILING),
    ...readSummarySettings(c),
  };
}

function positiveInteger(v: number | undefined, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
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
        if (e.affectsConfiguration(SECTION) || e.affectsConfiguration('http.proxy') || e.affectsConfiguration('http.noProxy')) reread();
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
    return restrictedWorkspaceValues(SECTION);
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
