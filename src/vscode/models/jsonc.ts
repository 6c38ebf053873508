/** JSON with comments and trailing commas (VS Code's settings format) → JSON. */
export function stripJsonc(text: string): string {
  const withoutComments = copyOutsideStrings(text, (rest) => {
    const end = rest.startsWith('//') ? rest.indexOf('\n') : rest.startsWith('/*') ? rest.indexOf('*/') : 0;
    if (end === 0) return 0;
    return end === -1 ? rest.length : rest.startsWith('/*') ? end + 2 : end;
  });
  return copyOutsideStrings(withoutComments, (rest) => (/^,\s*[}\]]/.test(rest) ? 1 : 0));
}

/** Copies `text`, strings as they are; elsewhere drops the `drop(rest)` characters found at a `/` or `,`. */
function copyOutsideStrings(text: string, drop: (rest: string) => number): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      const n = text[i] === '/' || text[i] === ',' ? drop(text.slice(i)) : 0;
      if (n > 0) i += n;
      else out += text[i++];
    }
  }
  return out;
}
