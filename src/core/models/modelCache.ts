import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Dtype } from '../../protocol/worker';
import { hubModelDir } from './hubDownloader';
import { isHubId, isValidRevision } from './modelRef';

/** A downloaded Hub model revision in the cache (`<cacheDir>/hub/<owner>--<name>/<revision>/`). */
export interface CachedModel {
  /** Hub id, `owner/name`. */
  readonly id: string;
  readonly revision: string;
  /** What a setting would say: `owner/name`, or `owner/name@revision` for other revisions than main. */
  readonly ref: string;
  readonly dir: string;
  /** Bytes of all files, unfinished downloads included. */
  readonly bytes: number;
  /** Bytes in unfinished downloads (`*.part`), kept so a later download resumes. */
  readonly partialBytes: number;
  /** ONNX files present, relative to `dir`, e.g. `onnx/model.onnx`. */
  readonly onnxFiles: readonly string[];
  /** config.json and at least one ONNX file are there. */
  readonly complete: boolean;
  /** When BERT Lens last used the model (ms since the epoch), if it was recorded. */
  readonly lastUsed: number | undefined;
  /** Newest file modification (ms since the epoch): when it was downloaded, roughly. */
  readonly modified: number;
}

/** File in a model folder whose content is the time (ms since the epoch) the model was last used. */
export const LAST_USED_FILE = '.bert-lens-last-used';
const PART = /\.part$/;

/**
 * The downloaded models under `cacheDir` (the folder HubDownloader was given), most recently used first.
 * Folders being deleted and anything that is not a model folder are skipped.
 */
export async function listCachedModels(cacheDir: string): Promise<CachedModel[]> {
  const hub = path.join(cacheDir, 'hub');
  const models: CachedModel[] = [];
  for (const repo of await readdirSafe(hub)) {
    const split = repo.indexOf('--');
    if (split <= 0 || repo.startsWith('.')) continue;
    const id = `${repo.slice(0, split)}/${repo.slice(split + 2)}`;
    if (!isHubId(id)) continue;
    for (const revision of await readdirSafe(path.join(hub, repo))) {
      const dir = path.join(hub, repo, revision);
      if (!isValidRevision(revision) || !(await isDirectory(dir))) continue;
      models.push(await describeCachedModel(dir, id, revision));
    }
  }
  return models.sort((a, b) => (b.lastUsed ?? b.modified) - (a.lastUsed ?? a.modified) || a.ref.localeCompare(b.ref));
}

async function describeCachedModel(dir: string, id: string, revision: string): Promise<CachedModel> {
  let bytes = 0;
  let partialBytes = 0;
  let modified = 0;
  const onnxFiles: string[] = [];
  for (const file of await walk(dir)) {
    const stat = await fsp.stat(path.join(dir, file)).catch(() => undefined);
    if (!stat) continue;
    bytes += stat.size;
    modified = Math.max(modified, stat.mtimeMs);
    if (PART.test(file)) partialBytes += stat.size;
    else if (file.endsWith('.onnx')) onnxFiles.push(file.split(path.sep).join('/'));
  }
  const lastUsed = await readLastUsed(dir);
  return {
    id,
    revision,
    ref: revision === 'main' ? id : `${id}@${revision}`,
    dir,
    bytes,
    partialBytes,
    onnxFiles: onnxFiles.sort(),
    complete: fs.existsSync(path.join(dir, 'config.json')) && onnxFiles.length > 0,
    lastUsed,
    modified,
  };
}

/**
 * True when the revision's folder holds config.json and an ONNX file (of the dtype, when given: q8 files end in
 * `_quantized.onnx`), whatever kind of model it is (encoder, seq2seq).
 */
export function isModelDownloaded(cacheDir: string, id: string, revision: string, dtype?: Dtype): boolean {
  const dir = hubModelDir(cacheDir, id, revision);
  const wanted = (f: string): boolean => f.endsWith('.onnx') && (dtype === undefined || f.endsWith('_quantized.onnx') === (dtype === 'q8'));
  try {
    return fs.existsSync(path.join(dir, 'config.json')) && fs.readdirSync(path.join(dir, 'onnx')).some(wanted);
  } catch {
    return false;
  }
}

/** Records that the model in `dir` was used now (best effort; the cache may be read-only). */
export async function markModelUsed(dir: string, now: number = Date.now()): Promise<void> {
  await fsp.writeFile(path.join(dir, LAST_USED_FILE), String(now)).catch(() => undefined);
}

async function readLastUsed(dir: string): Promise<number | undefined> {
  const raw = await fsp.readFile(path.join(dir, LAST_USED_FILE), 'utf8').catch(() => undefined);
  const value = raw === undefined ? NaN : Number(raw.trim());
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * Deletes a cached model revision and returns the bytes freed. The folder is first renamed out of the way (one
 * atomic step: no reader ever sees half a model), then removed; the model's folder goes too when it is left empty.
 * A download still running in another window fails cleanly and can simply be retried.
 */
export async function deleteCachedModel(model: Pick<CachedModel, 'dir'>): Promise<number> {
  const dir = path.resolve(model.dir);
  const repoDir = path.dirname(dir);
  const hub = path.dirname(repoDir);
  if (path.basename(hub) !== 'hub' || !(await isDirectory(dir))) throw new Error(`${dir} is not a downloaded model folder`);
  const bytes = (await walk(dir)).reduce((sum, f) => sum + (fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.size ?? 0), 0);
  const trash = path.join(hub, `.deleting-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fsp.rename(dir, trash);
  await fsp.rm(trash, { recursive: true, force: true, maxRetries: 3 });
  if ((await readdirSafe(repoDir)).length === 0) await fsp.rmdir(repoDir).catch(() => undefined);
  return bytes;
}

/** Sizes for people: 1.2 GB, 34.5 MB, 812 kB (decimal units, as download sites show them). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch {
    return [];
  }
}

async function isDirectory(p: string): Promise<boolean> {
  return (await fsp.stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** Every file under `dir`, relative to it. */
async function walk(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? dir, e.name)));
}
