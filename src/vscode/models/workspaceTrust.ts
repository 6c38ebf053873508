import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseModelRef } from '../../core/models/modelRef';
import { stripJsonc } from './jsonc';

/**
 * Settings that can point BERT Lens at code or hosts: a model folder runs whatever ONNX graph and tokenizer it
 * holds, a mirror decides what gets downloaded. They are `restrictedConfigurations` in package.json, so in an
 * untrusted workspace VS Code hides their workspace values from `getConfiguration().get()` and `inspect()` alike.
 */
export const RESTRICTED_SETTINGS = ['model', 'summary.model', 'summary.hoverModel', 'hubMirror'] as const;
/** The model settings: a workspace value naming a Hub model or a bundled one is still honoured (no code, no host). */
const MODEL_SETTINGS: readonly string[] = ['model', 'summary.model', 'summary.hoverModel'];

/** A workspace value BERT Lens does not use because the workspace is not trusted. */
export interface IgnoredSetting {
  /** Full key, e.g. `bertLens.hubMirror`. */
  readonly key: string;
  readonly value: string;
  /** Why, in words: "a model folder", "a mirror host". */
  readonly reason: string;
}

export interface RestrictedWorkspaceValues {
  /** Workspace values ignored, in RESTRICTED_SETTINGS order. */
  readonly ignored: readonly IgnoredSetting[];
  /** Workspace values of model settings that are still used (Hub ids, bundled models), by key without `bertLens.`. */
  readonly admitted: Readonly<Record<string, string>>;
}

const NONE: RestrictedWorkspaceValues = { ignored: [], admitted: {} };

/**
 * What the workspace settings say for the restricted settings while the workspace is not trusted (nothing when it
 * is trusted). VS Code no longer reports these values, so the workspace settings file is read directly.
 */
export function restrictedWorkspaceValues(section = 'bertLens'): RestrictedWorkspaceValues {
  if (vscode.workspace.isTrusted) return NONE;
  const settings = readWorkspaceSettings();
  if (!settings) return NONE;
  const ignored: IgnoredSetting[] = [];
  const admitted: Record<string, string> = {};
  for (const name of RESTRICTED_SETTINGS) {
    const value = settings[`${section}.${name}`];
    if (typeof value !== 'string' || value.trim() === '') continue;
    if (MODEL_SETTINGS.includes(name) && namesHubOrBundledModel(value)) admitted[name] = value.trim();
    else ignored.push({ key: `${section}.${name}`, value, reason: MODEL_SETTINGS.includes(name) ? 'a model folder' : 'a mirror host' });
  }
  return { ignored, admitted };
}

function namesHubOrBundledModel(value: string): boolean {
  try {
    return parseModelRef(value).kind !== 'folder';
  } catch {
    return false;
  }
}

/**
 * `getConfiguration(section)` whose `get` also answers admitted workspace values of model settings in an untrusted
 * workspace (VS Code drops every workspace value of a restricted setting; a Hub id is harmless).
 */
export function withAdmittedWorkspaceModels(configuration: vscode.WorkspaceConfiguration, section = 'bertLens'): vscode.WorkspaceConfiguration {
  const { admitted } = restrictedWorkspaceValues(section);
  if (Object.keys(admitted).length === 0) return configuration;
  // The configuration object is frozen: answer through a plain object of the same shape.
  const admitting: Pick<vscode.WorkspaceConfiguration, 'get' | 'has' | 'inspect' | 'update'> = {
    get: (key: string, defaultValue?: unknown) => (key in admitted ? admitted[key] : configuration.get(key, defaultValue)),
    has: (key) => configuration.has(key),
    inspect: (key) => configuration.inspect(key),
    update: (key, value, target, overrideInLanguage) => configuration.update(key, value, target, overrideInLanguage),
  };
  return admitting as vscode.WorkspaceConfiguration;
}

/** The settings object of the workspace file (multi-root) or of the first folder's `.vscode/settings.json`. */
function readWorkspaceSettings(): Record<string, unknown> | undefined {
  const file = vscode.workspace.workspaceFile;
  if (file?.scheme === 'file') {
    const settings = readJsonc(file.fsPath)?.settings;
    return typeof settings === 'object' && settings !== null ? (settings as Record<string, unknown>) : undefined;
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder?.scheme === 'file' ? readJsonc(path.join(folder.fsPath, '.vscode', 'settings.json')) : undefined;
}

function readJsonc(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(stripJsonc(fs.readFileSync(file, 'utf8')));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
