import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseModelRef } from '../../core/models/modelRef';
import { readJsoncObject } from './jsonc';

/**
 * Settings that choose what BERT Lens downloads or runs: a model setting names the code and weights that run (a
 * folder holds any ONNX graph and tokenizer, a Hub id is downloaded), a mirror decides where downloads come from, and
 * the abstractive modes make a plain hover or Summarize download and run a seq2seq model. They are
 * `restrictedConfigurations` in package.json, so in an untrusted workspace VS Code hides their workspace values from
 * `getConfiguration().get()` and `inspect()` alike, and only the user's own settings apply.
 */
export const RESTRICTED_SETTINGS = ['model', 'summary.model', 'summary.hoverModel', 'hubMirror', 'summary.mode', 'hover.mode'] as const;

type RestrictedSetting = (typeof RESTRICTED_SETTINGS)[number];

/** A workspace value BERT Lens does not use because the workspace is not trusted. */
export interface IgnoredSetting {
  /** Full key, e.g. `bertLens.hubMirror`. */
  readonly key: string;
  readonly value: string;
  /** Why, in words: "a model folder", "a Hub model", "a mirror host", "a summary mode". */
  readonly reason: string;
}

/** The workspace settings file is read only to say what is ignored; a larger one is not read at all. */
export const MAX_WORKSPACE_SETTINGS_BYTES = 1024 * 1024;

/**
 * What the workspace settings say for the restricted settings while the workspace is not trusted (nothing when it
 * is trusted). VS Code no longer reports these values, so the workspace settings file is read directly.
 */
export function restrictedWorkspaceValues(section = 'bertLens'): readonly IgnoredSetting[] {
  if (vscode.workspace.isTrusted) return [];
  const settings = readWorkspaceSettings();
  if (!settings) return [];
  const ignored: IgnoredSetting[] = [];
  for (const name of RESTRICTED_SETTINGS) {
    const value = settings[`${section}.${name}`];
    if (typeof value !== 'string' || value.trim() === '') continue;
    ignored.push({ key: `${section}.${name}`, value, reason: reasonFor(name, value) });
  }
  return ignored;
}

function reasonFor(name: RestrictedSetting, value: string): string {
  if (name === 'hubMirror') return 'a mirror host';
  if (name === 'summary.mode' || name === 'hover.mode') return 'a summary mode';
  try {
    return parseModelRef(value).kind === 'folder' ? 'a model folder' : 'a model to download and run';
  } catch {
    return 'a model folder';
  }
}

/** The settings object of the workspace file (multi-root) or of the first folder's `.vscode/settings.json`. */
function readWorkspaceSettings(): Record<string, unknown> | undefined {
  const file = vscode.workspace.workspaceFile;
  if (file?.scheme === 'file') {
    const settings = readJsoncObject(file.fsPath, MAX_WORKSPACE_SETTINGS_BYTES)?.settings;
    return typeof settings === 'object' && settings !== null ? (settings as Record<string, unknown>) : undefined;
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder?.scheme === 'file' ? readJsoncObject(path.join(folder.fsPath, '.vscode', 'settings.json'), MAX_WORKSPACE_SETTINGS_BYTES) : undefined;
}
