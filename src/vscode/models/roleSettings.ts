import * as vscode from 'vscode';
import type { Dtype } from '../../protocol/worker';
import { SECTION } from '../config';
import { MODEL_ROLES, type ModelRole, type ModelRoleInfo } from './modelCatalog';

/** The model roles whose settings this build contributes (the summary settings come with the summary feature). */
export function availableRoles(): ModelRoleInfo[] {
  const c = vscode.workspace.getConfiguration(SECTION);
  return MODEL_ROLES.filter((r) => c.inspect(r.setting)?.defaultValue !== undefined);
}

export function roleInfo(role: ModelRole): ModelRoleInfo {
  return MODEL_ROLES.find((r) => r.role === role)!;
}

/** The model a role uses now, as its setting says (untrusted workspaces: see workspaceTrust.ts). */
export function roleModel(role: ModelRole): string {
  const { setting } = roleInfo(role);
  const c = vscode.workspace.getConfiguration(SECTION);
  const value = c.get<string>(setting)?.trim();
  return value || String(c.inspect<string>(setting)?.defaultValue ?? '');
}

export function roleDtype(role: ModelRole): Dtype {
  const c = vscode.workspace.getConfiguration(SECTION);
  const { dtypeSetting } = roleInfo(role);
  const value = c.get<string>(dtypeSetting) ?? c.inspect<string>(dtypeSetting)?.defaultValue;
  return value === 'q8' ? 'q8' : 'fp32';
}

/**
 * Writes a role's model setting: into the workspace settings when the (trusted) workspace already sets it, so the
 * choice is not shadowed, else into the user settings.
 */
export async function writeRoleModel(role: ModelRole, value: string): Promise<void> {
  const { setting } = roleInfo(role);
  const c = vscode.workspace.getConfiguration(SECTION);
  const inWorkspace = vscode.workspace.isTrusted && c.inspect(setting)?.workspaceValue !== undefined;
  await c.update(setting, value, inWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
}
