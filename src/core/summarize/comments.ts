/**
 * Comments by language: the syntax to write a summary as a comment ("Insert as Comment"), and the prose of a piece
 * of code (its comments and docstrings) for extractive summaries of symbols. No `vscode` import.
 */

export interface CommentSyntax {
  /** Line comment marker, e.g. `//`. */
  readonly line?: string;
  /** Block comment delimiters, e.g. `['/*', '*\/']`. */
  readonly block?: readonly [string, string];
  /** Python-style docstrings (`"""…"""`, `'''…'''`) count as comments when reading prose. */
  readonly docstrings?: boolean;
  /** String delimiters to skip when looking for comments in code. */
  readonly quotes?: string;
}

const C_LIKE: CommentSyntax = { line: '//', block: ['/*', '*/'], quotes: `"'\`` };
const HASH: CommentSyntax = { line: '#', quotes: `"'` };
const DASH: CommentSyntax = { line: '--', quotes: `"'` };
const MARKUP: CommentSyntax = { block: ['<!--', '-->'] };

const SYNTAX: Readonly<Record<string, CommentSyntax>> = {
  typescript: C_LIKE, typescriptreact: C_LIKE, javascript: C_LIKE, javascriptreact: C_LIKE, java: C_LIKE, c: C_LIKE,
  cpp: C_LIKE, csharp: C_LIKE, go: C_LIKE, rust: C_LIKE, swift: C_LIKE, kotlin: C_LIKE, scala: C_LIKE, dart: C_LIKE,
  php: C_LIKE, groovy: C_LIKE, 'objective-c': C_LIKE, jsonc: C_LIKE, less: C_LIKE, scss: C_LIKE,
  css: { block: ['/*', '*/'], quotes: `"'` },
  python: { ...HASH, docstrings: true }, shellscript: HASH, ruby: HASH, perl: HASH, r: HASH, yaml: HASH, toml: HASH,
  dockerfile: HASH, makefile: HASH, powershell: { ...HASH, block: ['<#', '#>'] }, coffeescript: HASH, julia: HASH,
  elixir: HASH, nim: HASH, ini: { line: ';' }, properties: HASH,
  sql: { ...DASH, block: ['/*', '*/'] }, lua: DASH, haskell: DASH, ada: DASH,
  latex: { line: '%' }, tex: { line: '%' }, matlab: { line: '%' }, erlang: { line: '%' },
  clojure: { line: ';' }, lisp: { line: ';' }, scheme: { line: ';' },
  vb: { line: "'" }, bat: { line: 'REM' }, fsharp: { line: '//', block: ['(*', '*)'] }, ocaml: { block: ['(*', '*)'] },
  html: MARKUP, xml: MARKUP, markdown: MARKUP, svg: MARKUP, vue: MARKUP,
};

export function commentSyntax(languageId: string): CommentSyntax | undefined {
  return SYNTAX[languageId];
}

/** Prose languages: a summary goes into them as text (Markdown as an HTML comment). */
const PROSE = new Set(['markdown', 'plaintext']);

/**
 * Why a summary cannot be inserted as a comment into a document of `languageId`, or undefined when it can: the
 * language has a known comment syntax, or is prose. Anything else would put bare sentences into code.
 *
 * @example insertCommentProblem('python') === undefined
 * @example insertCommentProblem('json') === 'No comment syntax is known for json, so the summary would go into the code as bare text: copy it instead.'
 */
export function insertCommentProblem(languageId: string): string | undefined {
  if (PROSE.has(languageId) || SYNTAX[languageId]?.line || SYNTAX[languageId]?.block) return undefined;
  return `No comment syntax is known for ${languageId}, so the summary would go into the code as bare text: copy it instead.`;
}

/**
 * `text` as a comment block, wrapped at `width` columns, each line starting with `indent`; ends with a line break.
 * Languages with only block comments get one block; plain text (no syntax) is returned wrapped but unmarked, so
 * check {@link insertCommentProblem} before putting it into a document.
 *
 * @example formatAsComment('Retries uploads.', 'python', '    ') === '    # Retries uploads.\n'
 */
export function formatAsComment(text: string, languageId: string, indent = '', width = 100): string {
  const syntax = commentSyntax(languageId);
  const words = text.replace(/\s+/g, ' ').trim();
  if (syntax?.line) {
    const lead = `${indent}${syntax.line} `;
    return wrap(words, width - lead.length).map((l) => `${lead}${l}`.trimEnd() + '\n').join('');
  }
  if (syntax?.block) {
    const [open, close] = syntax.block;
    const lines = wrap(words.replaceAll(close, close.split('').join(' ')), width - indent.length - 1);
    if (lines.length === 1 && indent.length + open.length + lines[0]!.length + close.length + 2 <= width) {
      return `${indent}${open} ${lines[0]} ${close}\n`;
    }
    return `${indent}${open}\n${lines.map((l) => `${indent} ${l}\n`).join('')}${indent}${close}\n`;
  }
  return wrap(words, width - indent.length).map((l) => `${indent}${l}\n`).join('');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > Math.max(20, width)) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/**
 * The comments of `code` as prose at their own offsets: a string as long as `code` in which every character that
 * is not comment text (code, strings, comment markers, leading `*` of block-comment lines) is a space, line breaks
 * kept. Sentence ranges found in it are ranges in `code`. Returns undefined for languages without known syntax.
 */
export function commentProse(code: string, languageId: string): string | undefined {
  const syntax = commentSyntax(languageId);
  if (!syntax || (!syntax.line && !syntax.block)) return undefined;
  const out = code.replace(/[^\n]/g, ' ').split('');
  const keep = (from: number, to: number): void => {
    for (let i = from; i < to; i++) out[i] = code[i]!;
  };
  const quotes = syntax.quotes ?? '';
  let i = 0;
  while (i < code.length) {
    if (syntax.docstrings && (code.startsWith('"""', i) || code.startsWith("'''", i))) {
      const fence = code.slice(i, i + 3);
      const end = code.indexOf(fence, i + 3);
      const stop = end < 0 ? code.length : end;
      // Only a string that starts a statement is a docstring; any other triple-quoted string is code.
      if (/(^|\n)[ \t]*$/.test(code.slice(Math.max(0, i - 200), i))) keep(i + 3, stop);
      i = end < 0 ? code.length : end + 3;
      continue;
    }
    if (syntax.line && code.startsWith(syntax.line, i)) {
      let end = code.indexOf('\n', i);
      if (end < 0) end = code.length;
      let from = i + syntax.line.length;
      while (from < end && (code[from] === syntax.line[0] || code[from] === '!')) from++; // `///`, `##`, `//!`
      keep(from, end);
      i = end;
      continue;
    }
    if (syntax.block && code.startsWith(syntax.block[0], i)) {
      const [open, close] = syntax.block;
      const end = code.indexOf(close, i + open.length);
      const stop = end < 0 ? code.length : end;
      let from = i + open.length;
      while (from < stop && code[from] === open.at(-1)) from++; // `/**`
      keep(from, stop);
      // Leading ` * ` of the lines inside the block.
      for (let k = from; k < stop; k++) {
        if (code[k] !== '\n') continue;
        let j = k + 1;
        while (j < stop && (code[j] === ' ' || code[j] === '\t')) j++;
        if (code[j] === '*' && code[j + 1] !== '/') out[j] = ' ';
      }
      i = end < 0 ? code.length : end + close.length;
      continue;
    }
    const c = code[i]!;
    if (quotes.includes(c)) {
      let j = i + 1;
      while (j < code.length && code[j] !== c && (c === '`' || code[j] !== '\n')) j += code[j] === '\\' ? 2 : 1;
      i = j + 1;
      continue;
    }
    i++;
  }
  return blankDocTags(out.join(''));
}

/**
 * Doc-comment syntax read as prose says nothing: `@param {string} file the file` becomes `file the file`,
 * `{@link Foo}` becomes `Foo`, other block tags (`@returns`, `@throws`, …) lose their tag. Characters are replaced
 * by spaces, so offsets stay those of the code.
 */
export function blankDocTags(prose: string): string {
  const blank = (m: string): string => m.replace(/[^\n]/g, ' ');
  return prose
    .replace(/\{@(?:link|linkcode|linkplain)\s+([^}\n]*)\}/g, (m, inner: string) => ` ${inner}`.padEnd(m.length, ' '))
    .replace(/(^|[ \t])@[A-Za-z]+(?:[ \t]+\{[^{}\n]*\})?/gm, (m, lead: string) => lead + blank(m.slice(lead.length)));
}
