/** Deciding whether file bytes are text, and decoding them. Shared by every {@link FileSource}. */

export type DecodedText = { readonly text: string } | { readonly binary: true; readonly detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Text of `bytes` (UTF-8, or UTF-16 with a byte-order mark; a UTF-8 BOM is dropped), or why it is treated as
 * binary: a NUL byte, or bytes that are not valid UTF-8.
 */
export function decodeText(bytes: Uint8Array): DecodedText {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    try {
      return { text: new TextDecoder(bytes[0] === 0xff ? 'utf-16le' : 'utf-16be', { fatal: true }).decode(bytes) };
    } catch {
      return { binary: true, detail: 'invalid UTF-16' };
    }
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { binary: true, detail: `NUL byte at offset ${nul}` };
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { binary: true, detail: 'not valid UTF-8' };
  }
}

/** Replacement characters tolerated in an editor's text before it counts as binary (some text files hold a few). */
const MAX_REPLACEMENT_SHARE = 0.01;

/**
 * Why an editor's text (unsaved contents, already decoded by the editor) is treated as binary, or undefined when it
 * is text: a NUL character, or so many U+FFFD replacement characters that the editor decoded bytes that were not text
 * (the rules {@link decodeText} applies to a file's bytes).
 */
export function binaryTextReason(text: string): string | undefined {
  const nul = text.indexOf('\0');
  if (nul >= 0) return `NUL character at offset ${nul}`;
  let replaced = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) replaced++;
  if (replaced >= 8 && replaced > text.length * MAX_REPLACEMENT_SHARE) return `${replaced} characters that are not valid text`;
  return undefined;
}

/** `1.5 MB`, `812 B`: sizes in skip reports. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
