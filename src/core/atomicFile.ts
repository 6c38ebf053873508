import * as fs from 'node:fs';
import * as path from 'node:path';
import { isProcessAlive } from './process';

/**
 * The one way BERT Lens replaces a file it owns (index manifests, the summary cache): write a private temporary file
 * next to it, fsync it, rename it into place, fsync the folder. A process killed at any point leaves the old file or
 * the new one, never a torn one; the temporary file it may leave names its process, so {@link removeStaleTemps}
 * can clear it later.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: { readonly mkdir?: boolean } = {}): Promise<void> {
  if (options.mkdir) await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  const handle = await fs.promises.open(tmp, 'wx');
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await syncDir(path.dirname(file));
}

/** Removes the temporary files that killed processes left beside `file` (those of live processes are kept). */
export async function removeStaleTemps(file: string): Promise<number> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let removed = 0;
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = name.startsWith(`${base}.`) ? /^\.(\d+)\.[a-z0-9]+\.tmp$/.exec(name.slice(base.length)) : null;
    if (!m || Number(m[1]) === process.pid || isProcessAlive(Number(m[1]))) continue;
    await fs.promises.rm(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

/** fsync of a folder, so a rename in it survives power loss (not possible on Windows: skipped there). */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open folders; NTFS journals renames itself.
  } finally {
    await handle?.close();
  }
}
