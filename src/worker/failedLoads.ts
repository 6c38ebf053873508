import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Remembers models that failed to load, until their files change: a broken folder is not parsed again on every
 * request (a hover, a keystroke in the attention view), yet fixing it takes effect on the next request.
 */
export class FailedLoads {
  private readonly failures = new Map<string, { readonly error: unknown; readonly fingerprint: string }>();

  /** The remembered failure for `key`, when the files under `dir` are as they were when it failed. */
  recall(key: string, dir: string): unknown {
    const failed = this.failures.get(key);
    if (!failed) return undefined;
    if (failed.fingerprint === folderFingerprint(dir)) return failed.error;
    this.failures.delete(key);
    return undefined;
  }

  remember(key: string, dir: string, error: unknown): void {
    // A cancelled load says nothing about the files.
    if ((error as { code?: unknown } | undefined)?.code === 'cancelled') return;
    this.failures.set(key, { error, fingerprint: folderFingerprint(dir) });
  }

}

/**
 * Names, sizes and modification times of the files a model loads (the folder and its `onnx/` subfolder); a
 * missing folder has a fingerprint too, so creating it counts as a change. Bundled models (no folder) have one
 * fixed fingerprint.
 */
export function folderFingerprint(dir: string): string {
  if (dir === '') return 'bundled';
  const parts: string[] = [];
  for (const sub of ['', 'onnx']) {
    const folder = path.join(dir, sub);
    let names: string[];
    try {
      names = fs.readdirSync(folder).sort();
    } catch (e) {
      parts.push(`${sub}:${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      continue;
    }
    for (const name of names.slice(0, 256)) {
      try {
        const s = fs.statSync(path.join(folder, name));
        parts.push(`${sub}/${name}:${s.size}:${s.mtimeMs}`);
      } catch {
        parts.push(`${sub}/${name}:gone`);
      }
    }
  }
  return parts.join('|');
}
