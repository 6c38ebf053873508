import * as os from 'node:os';
import * as path from 'node:path';

/** How the user named a model. */
export type ModelRef =
  | { readonly kind: 'hub'; readonly id: string; readonly revision: string }
  | { readonly kind: 'folder'; readonly path: string }
  | { readonly kind: 'bundled'; readonly name: BundledModelName };

export const DEFAULT_MODEL = 'Xenova/all-MiniLM-L6-v2';

/** Models that ship inside BERT Lens and need no download. */
export const BUNDLED_MODELS = {
  'use-lite': {
    ref: 'bundled:use-lite',
    displayName: 'Universal Sentence Encoder lite (bundled, offline)',
  },
} as const;

export type BundledModelName = keyof typeof BUNDLED_MODELS;
export const USE_LITE_REF = BUNDLED_MODELS['use-lite'].ref;

/** The display name of a model reference: bundled models have one, others are shown as written. */
export function modelDisplayName(ref: string): string {
  for (const m of Object.values(BUNDLED_MODELS)) if (m.ref === ref) return m.displayName;
  return ref;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/** `owner/name` as the Hub spells model ids. */
export function isHubId(id: string): boolean {
  return HUB_ID.test(id) && !id.includes('..');
}

/**
 * A revision is a branch or tag name of one path segment, or a commit hash: letters, digits, `_`, `-` and `.`, not
 * starting with `.` (so never `.` or `..`, which would name a cache folder outside the model's), with no `..` and
 * not ending in `.lock` (git's own rules for ref names).
 */
export function isValidRevision(revision: string): boolean {
  return /^[\w-][\w.-]{0,127}$/.test(revision) && !revision.includes('..') && !revision.endsWith('.lock');
}

export class ModelRefError extends Error {}

/**
 * Parses a model setting or CLI argument. Paths (absolute, `./`, `../`, `~/`, `file:`) name local folders in
 * transformers.js layout; `owner/name` (optionally `@revision`) names a Hub model. `baseDir` resolves relative paths.
 */
export function parseModelRef(value: string, baseDir: string = process.cwd()): ModelRef {
  const raw = value.trim();
  if (raw === '') throw new ModelRefError('No model given. Use a Hub id such as Xenova/all-MiniLM-L6-v2 or a local folder.');
  if (raw.startsWith('bundled:')) {
    const name = raw.slice('bundled:'.length);
    if (name in BUNDLED_MODELS) return { kind: 'bundled', name: name as BundledModelName };
    throw new ModelRefError(`There is no bundled model "${name}". Bundled models: ${Object.values(BUNDLED_MODELS).map((m) => m.ref).join(', ')}.`);
  }
  if (raw.startsWith('file:')) return { kind: 'folder', path: path.resolve(new URL(raw).pathname) };
  if (raw === '~' || raw.startsWith('~/')) return { kind: 'folder', path: path.join(os.homedir(), raw.slice(1)) };
  if (path.isAbsolute(raw) || raw.startsWith('./') || raw.startsWith('../') || raw.startsWith('.\\') || raw === '.') {
    return { kind: 'folder', path: path.resolve(baseDir, raw) };
  }
  const [id, revision = 'main'] = raw.split('@', 2) as [string, string?];
  if (isHubId(id)) {
    if (isValidRevision(revision)) return { kind: 'hub', id, revision };
    throw new ModelRefError(`"${revision}" is not a revision: use a branch or tag name (letters, digits, _ - .) or a commit hash.`);
  }
  throw new ModelRefError(`"${raw}" is neither a Hub model id (owner/name) nor a folder path (start relative paths with ./).`);
}

export function describeModelRef(ref: ModelRef): string {
  switch (ref.kind) {
    case 'hub':
      return ref.revision === 'main' ? ref.id : `${ref.id}@${ref.revision}`;
    case 'folder':
      return ref.path;
    case 'bundled':
      return BUNDLED_MODELS[ref.name].ref;
  }
}
