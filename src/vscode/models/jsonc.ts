import * as fs from 'node:fs';
import { parse, type ParseError } from 'jsonc-parser';

/**
 * The object in a JSON-with-comments file (VS Code's settings format), or undefined when the file is missing, not a
 * regular file, larger than `maxBytes`, not valid JSONC or not an object. A workspace controls these files, so the
 * read is bounded: `.vscode/settings.json` can be a link to `/dev/zero` or a FIFO, which a plain read never finishes,
 * and parsing is Microsoft's `jsonc-parser` (the one VS Code uses), linear in the text.
 */
export function readJsoncObject(file: string, maxBytes: number): Record<string, unknown> | undefined {
  let text: string | undefined;
  try {
    text = readSmallRegularFile(file, maxBytes);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const errors: ParseError[] = [];
  const parsed: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) return undefined;
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

/** The text of `file` if it is a regular file of at most `maxBytes`; opened without blocking on a FIFO. */
export function readSmallRegularFile(file: string, maxBytes: number): string | undefined {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.size > maxBytes) return undefined;
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) return undefined;
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
