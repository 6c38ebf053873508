/**
 * Text for a `vscode.MarkdownString`, from values BERT Lens does not control (settings, file contents, error
 * messages from the network): every character Markdown, HTML or theme icons (`$(name)`) would read is escaped, so a
 * value can add no link, command URI, image or icon.
 */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>$~&:]/g, '\\$&');
}

/** `s` as inline code: fenced by more backticks than any run inside it, on one line. */
export function markdownCode(s: string): string {
  const flat = s.replace(/\r?\n|\r/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}
