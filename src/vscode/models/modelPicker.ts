import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BUNDLED_MODELS, describeModelRef, parseModelRef } from '../../core/models/modelRef';
import type { Dtype } from '../../protocol/worker';
import type { ModelService } from '../modelService';
import { catalogFor, isModelRole, type ModelRole, type ModelRoleInfo } from './modelCatalog';
import { describeState } from './modelStates';
import { availableRoles, roleDtype, roleInfo, roleModel, writeRoleModel } from './roleSettings';

/** What a picker row does when accepted. */
type Choice = { readonly kind: 'model'; readonly value: string } | { readonly kind: 'hubId' } | { readonly kind: 'folder' };

export interface ModelPickItem extends vscode.QuickPickItem {
  readonly choice?: Choice;
}

/** `bertLens.selectModel` arguments: a role to skip the role question, or a role and a model to set without asking. */
export type SelectModelArgs = ModelRole | { readonly role: ModelRole; readonly model?: string } | undefined;

const BUNDLED_SIZE_MB = 26;

/**
 * The rows of the model picker for a role: the bundled encoder (encoder roles), the curated transformers.js models
 * with task, download size for the dtype in use, licence and state, then "any Hub id…" and "local folder…".
 */
export function modelPickItems(role: ModelRoleInfo, current: string, dtype: Dtype, models: ModelService): ModelPickItem[] {
  const currentRef = canonical(current);
  const mark = (value: string): string => (canonical(value) === currentRef ? '$(check) ' : '');
  const items: ModelPickItem[] = [];
  if (role.kind === 'encoder') {
    items.push({ label: 'Bundled', kind: vscode.QuickPickItemKind.Separator });
    for (const bundled of Object.values(BUNDLED_MODELS)) {
      items.push({
        label: `${mark(bundled.ref)}$(package) ${bundled.displayName}`,
        description: `${BUNDLED_SIZE_MB} MB, inside BERT Lens · Apache-2.0 · nothing to download`,
        detail: 'Sentence embeddings, English. Universal Sentence Encoder lite: 2 layers × 4 heads, 512-d; works offline.',
        choice: { kind: 'model', value: bundled.ref },
      });
    }
  }
  items.push({ label: 'Known transformers.js models (not verified offline)', kind: vscode.QuickPickItemKind.Separator });
  for (const m of catalogFor(role.role)) {
    const state = describeState(models.states.get(models.stateKey(m.id, dtype)));
    items.push({
      label: `${mark(m.id)}${m.id}`,
      description: `${dtype} ≈${formatMb(m.sizeMb[dtype])} · ${m.license} · ${state}`,
      detail: `${m.task[0]!.toUpperCase()}${m.task.slice(1)}. ${m.detail}`,
      choice: { kind: 'model', value: m.id },
    });
  }
  items.push({ label: 'Other', kind: vscode.QuickPickItemKind.Separator });
  const isCustom = !items.some((i) => i.choice?.kind === 'model' && canonical(i.choice.value) === currentRef);
  if (isCustom && current) {
    items.push({ label: `$(check) ${current}`, description: 'current', choice: { kind: 'model', value: current } });
  }
  items.push(
    { label: '$(globe) Any Hub model id…', description: 'owner/name[@revision], in transformers.js layout (ONNX weights)', choice: { kind: 'hubId' } },
    { label: '$(folder) Local folder…', description: 'config.json, tokenizer.json and onnx/*.onnx', choice: { kind: 'folder' } },
  );
  return items;
}

function canonical(value: string): string {
  try {
    return describeModelRef(parseModelRef(value));
  } catch {
    return value.trim();
  }
}

function formatMb(mb: number): string {
  return mb >= 1000 ? `${(mb / 1000).toFixed(1)} GB` : `${mb} MB`;
}

/** The model picker (`bertLens.selectModel`): asks for the role, then the model, and writes the role's setting. */
export class ModelPicker {
  constructor(private readonly models: ModelService) {}

  /** Resolves with the role and the model written, or undefined when the user backed out. */
  async select(args: SelectModelArgs): Promise<{ role: ModelRole; model: string } | undefined> {
    const given = typeof args === 'object' && args !== null ? args : undefined;
    let role: ModelRole | undefined = isModelRole(args) ? args : isModelRole(given?.role) ? given.role : undefined;
    role ??= await this.pickRole();
    if (!role) return undefined;
    const value = typeof given?.model === 'string' && given.model.trim() ? given.model.trim() : await this.pickModel(roleInfo(role));
    if (!value) return undefined;
    await writeRoleModel(role, value);
    return { role, model: value };
  }

  private async pickRole(): Promise<ModelRole | undefined> {
    const roles = availableRoles();
    if (roles.length === 1) return roles[0]!.role;
    const picked = await vscode.window.showQuickPick(
      roles.map((r) => ({ label: r.label, description: roleModel(r.role), detail: r.detail, role: r.role })),
      { title: 'BERT Lens: Choose the Model for…', placeHolder: 'What the model is used for' },
    );
    return picked?.role;
  }

  private async pickModel(role: ModelRoleInfo): Promise<string | undefined> {
    const current = roleModel(role.role);
    const dtype = roleDtype(role.role);
    const quickPick = vscode.window.createQuickPick<ModelPickItem>();
    quickPick.title = `BERT Lens: ${role.label} Model`;
    quickPick.placeholder = `Now: ${current} (${dtype}). Sizes are for ${dtype}; models download on first use.`;
    quickPick.matchOnDescription = true;
    quickPick.matchOnDetail = true;
    quickPick.items = modelPickItems(role, current, dtype, this.models);
    const active = quickPick.items.find((i) => i.label.startsWith('$(check)'));
    if (active) quickPick.activeItems = [active];
    const choice = await new Promise<Choice | undefined>((resolve) => {
      quickPick.onDidAccept(() => {
        resolve(quickPick.selectedItems[0]?.choice);
        quickPick.hide();
      });
      quickPick.onDidHide(() => resolve(undefined));
      quickPick.show();
    });
    quickPick.dispose();
    if (!choice) return undefined;
    if (choice.kind === 'model') return choice.value;
    if (choice.kind === 'hubId') return this.askHubId(role, current);
    return this.askFolder(role);
  }

  private async askHubId(role: ModelRoleInfo, current: string): Promise<string | undefined> {
    const value = await vscode.window.showInputBox({
      title: `BERT Lens: ${role.label} Model from the Hub`,
      prompt: 'A Hugging Face Hub model in transformers.js layout, with ONNX weights under onnx/ (e.g. a Xenova/… or onnx-community/… model)',
      placeHolder: 'owner/name or owner/name@revision',
      value: ModelPickerHelpers.isHub(current) ? current : '',
      validateInput: (v) => (ModelPickerHelpers.isHub(v) ? undefined : 'Write owner/name, optionally @revision (letters, digits, - _ .)'),
    });
    return value?.trim() || undefined;
  }

  private async askFolder(role: ModelRoleInfo): Promise<string | undefined> {
    const uris = await vscode.window.showOpenDialog({
      title: `BERT Lens: ${role.label} Model Folder`,
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      openLabel: 'Use This Model',
      ...(vscode.workspace.workspaceFolders?.[0] ? { defaultUri: vscode.workspace.workspaceFolders[0].uri } : {}),
    });
    const folder = uris?.[0];
    if (!folder) return undefined;
    const missing = ModelPickerHelpers.missingModelFiles(folder.fsPath, role.kind);
    if (missing.length > 0) {
      const go = await vscode.window.showWarningMessage(
        `${folder.fsPath} does not look like a transformers.js model folder: ${missing.join(', ')} missing.`,
        { modal: true },
        'Use Anyway',
      );
      if (go !== 'Use Anyway') return undefined;
    }
    return folder.fsPath;
  }
}

/** Checks used by the picker, exported for tests. */
export const ModelPickerHelpers = {
  isHub(value: string): boolean {
    try {
      return parseModelRef(value).kind === 'hub';
    } catch {
      return false;
    }
  },
  /** Files a model folder lacks: config.json, tokenizer.json, and an encoder's or a seq2seq model's ONNX file. */
  missingModelFiles(dir: string, kind: 'encoder' | 'seq2seq'): string[] {
    const onnx = path.join(dir, 'onnx');
    const has = (f: string): boolean => fs.existsSync(path.join(dir, f));
    const onnxFiles = fs.existsSync(onnx) ? fs.readdirSync(onnx) : [];
    const wanted = kind === 'encoder' ? /^model(_quantized)?\.onnx$/ : /^encoder_model(_quantized)?\.onnx$/;
    return [
      ...(has('config.json') ? [] : ['config.json']),
      ...(has('tokenizer.json') ? [] : ['tokenizer.json']),
      ...(onnxFiles.some((f) => wanted.test(f)) ? [] : [kind === 'encoder' ? 'onnx/model.onnx' : 'onnx/encoder_model.onnx']),
    ];
  },
};
