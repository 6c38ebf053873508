import { RE2JS } from 're2js';

/**
 * Glob and .gitignore matching on `/`-separated relative paths.
 *
 * Patterns come from the workspace (`.gitignore`, `.vscode/settings.json`), so they are hostile input: every pattern
 * is compiled by RE2 (re2js), whose matching time is linear in the path's length whatever the pattern. A
 * backtracking engine (JavaScript's RegExp, and the `ignore`/`picomatch` packages built on it) takes exponential time
 * on lines such as `*a*a*a*a*a*a*a*a*a*a*b` against a long name, which froze the editor (issue 14, item 1).
 *
 * - {@link compileGlob}: VS Code glob syntax (`files.exclude`, `search.exclude`): `*`, `?`, `**`, `[a-z]`, `[!x]`,
 *   `{a,b}`; matched against the whole path relative to the root.
 * - {@link GitignoreRules}: git's rules: `#` comments, `!` negation (last match wins), trailing `/` = folders only,
 *   a pattern with an inner or leading `/` is anchored to its .gitignore's folder, otherwise it matches at any depth;
 *   nested .gitignore files add rules for their subtree (deeper files win).
 */

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/;

interface ConvertOptions {
  readonly braces: boolean;
}

/** Regular-expression source (no anchors) equivalent to `glob` on `/`-separated paths. */
export function globToRegExpSource(glob: string, options: ConvertOptions = { braces: true }): string {
  let out = '';
  let i = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === '*') {
      let j = i;
      while (glob[j] === '*') j++;
      const stars = j - i;
      const atSegmentStart = i === 0 || glob[i - 1] === '/';
      const atSegmentEnd = j === glob.length || glob[j] === '/';
      if (stars >= 2 && atSegmentStart && atSegmentEnd) {
        if (j === glob.length) {
          out += '.*';
          i = j;
        } else {
          // `**/` : zero or more whole folders.
          out += '(?:[^/]*/)*';
          i = j + 1;
        }
      } else {
        out += '[^/]*';
        i = j;
      }
      continue;
    }
    if (c === '?') {
      out += '[^/]';
      i++;
      continue;
    }
    if (c === '[') {
      const close = findClassEnd(glob, i);
      if (close > 0) {
        let body = glob.slice(i + 1, close);
        let negate = false;
        if (body.startsWith('!') || body.startsWith('^')) {
          negate = true;
          body = body.slice(1);
        }
        body = body.replace(/\\/g, '\\\\').replace(/\]/g, '\\]');
        out += negate ? `[^/${body}]` : `[${body}]`;
        i = close + 1;
        continue;
      }
      out += '\\[';
      i++;
      continue;
    }
    if (c === '{' && options.braces) {
      const close = findBraceEnd(glob, i);
      if (close > 0) {
        const alternatives = splitTopLevel(glob.slice(i + 1, close));
        out += `(?:${alternatives.map((a) => globToRegExpSource(a, options)).join('|')})`;
        i = close + 1;
        continue;
      }
    }
    if (c === '\\' && i + 1 < glob.length) {
      out += escapeChar(glob[i + 1]!);
      i += 2;
      continue;
    }
    out += escapeChar(c);
    i++;
  }
  return out;
}

function escapeChar(c: string): string {
  return REGEX_SPECIAL.test(c) ? `\\${c}` : c;
}

function findClassEnd(glob: string, open: number): number {
  let j = open + 1;
  if (glob[j] === '!' || glob[j] === '^') j++;
  if (glob[j] === ']') j++;
  for (; j < glob.length; j++) {
    if (glob[j] === ']') return j;
    if (glob[j] === '/') return -1;
  }
  return -1;
}

function findBraceEnd(glob: string, open: number): number {
  let depth = 0;
  for (let j = open; j < glob.length; j++) {
    if (glob[j] === '\\') j++;
    else if (glob[j] === '{') depth++;
    else if (glob[j] === '}' && --depth === 0) return j;
  }
  return -1;
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let j = 0; j < body.length; j++) {
    const c = body[j];
    if (c === '\\') j++;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(start, j));
      start = j + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}

/** A compiled pattern that tests whole paths in time linear in the path's length. */
export interface PathPattern {
  test(path: string): boolean;
}

/** Longest pattern accepted; longer ones (no real glob is this long) match nothing. */
const MAX_PATTERN_CHARS = 4096;

const NOTHING: PathPattern = { test: () => false };

function compileWhole(source: string, ignoreCase: boolean): PathPattern {
  try {
    const re = RE2JS.compile(source, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    return { test: (path) => re.testExact(path) };
  } catch {
    // RE2 refuses what it cannot match in linear time; a pattern it refuses matches nothing.
    return NOTHING;
  }
}

/** A whole-path matcher for a VS Code glob. */
export function compileGlob(glob: string, ignoreCase = false): PathPattern {
  if (glob.length > MAX_PATTERN_CHARS) return NOTHING;
  return compileWhole(globToRegExpSource(glob.replace(/^\.\//, '')), ignoreCase);
}

/**
 * A set of exclude globs (`files.exclude`/`search.exclude` keys whose value is true). A folder is excluded when
 * its path, or its path followed by `/`, matches (so `out/**` excludes the folder `out` without visiting it).
 */
export class ExcludeMatcher {
  private readonly patterns: readonly PathPattern[];

  constructor(globs: readonly string[], ignoreCase = false) {
    this.patterns = globs.filter((g) => g.trim() !== '').map((g) => compileGlob(g.trim(), ignoreCase));
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  matches(relPath: string, isDir: boolean): boolean {
    for (const p of this.patterns) {
      if (p.test(relPath) || (isDir && p.test(`${relPath}/`))) return true;
    }
    return false;
  }
}

interface GitignoreRule {
  readonly pattern: PathPattern;
  readonly negate: boolean;
  readonly dirOnly: boolean;
}

/** The rules of one .gitignore file, for paths relative to the folder holding it. */
export class GitignoreFile {
  readonly rules: readonly GitignoreRule[];

  constructor(content: string, ignoreCase = false) {
    const rules: GitignoreRule[] = [];
    for (const raw of content.split(/\r?\n/)) {
      const rule = parseGitignoreLine(raw, ignoreCase);
      if (rule) rules.push(rule);
    }
    this.rules = rules;
  }

  /** `true` ignored, `false` re-included by a `!` rule, `undefined` no rule matched. */
  test(relPath: string, isDir: boolean): boolean | undefined {
    let verdict: boolean | undefined;
    for (const r of this.rules) {
      if (r.dirOnly && !isDir) continue;
      if (r.pattern.test(relPath)) verdict = !r.negate;
    }
    return verdict;
  }
}

function parseGitignoreLine(raw: string, ignoreCase: boolean): GitignoreRule | undefined {
  if (raw.length > MAX_PATTERN_CHARS) return undefined;
  let line = trimTrailingSpace(raw);
  if (line === '' || line.startsWith('#')) return undefined;
  let negate = false;
  if (line.startsWith('!')) {
    negate = true;
    line = line.slice(1);
  } else if (line.startsWith('\\!') || line.startsWith('\\#')) line = line.slice(1);
  let dirOnly = false;
  if (line.endsWith('/')) {
    dirOnly = true;
    line = line.replace(/\/+$/, '');
  }
  if (line === '') return undefined;
  const anchored = line.includes('/');
  line = line.replace(/^\/+/, '');
  const source = globToRegExpSource(line, { braces: false });
  const pattern = compileWhole(anchored ? source : `(?:[^/]*/)*${source}`, ignoreCase);
  return { pattern, negate, dirOnly };
}

/** Trailing whitespace is dropped unless the last whitespace character is escaped with a backslash. */
function trimTrailingSpace(line: string): string {
  let end = line.length;
  while (end > 0 && /\s/.test(line[end - 1]!)) end--;
  if (end < line.length && end > 0 && line[end - 1] === '\\') end++;
  return line.slice(0, end);
}

/**
 * The .gitignore files that apply to a folder: its own and its ancestors'. Immutable: the walker extends it per
 * folder with {@link with}, so rules of a folder never leak into its siblings.
 */
export class GitignoreRules {
  static readonly none = new GitignoreRules([]);

  private constructor(private readonly files: readonly { readonly base: string; readonly rules: GitignoreFile }[]) {}

  /** These rules plus those of the .gitignore in folder `base` (relative to the root, '' for the root itself). */
  with(base: string, content: string, ignoreCase = false): GitignoreRules {
    const rules = new GitignoreFile(content, ignoreCase);
    return rules.rules.length === 0 ? this : new GitignoreRules([...this.files, { base, rules }]);
  }

  /** Whether `relPath` (relative to the root) is ignored; deeper .gitignore files and later lines win. */
  ignores(relPath: string, isDir: boolean): boolean {
    let verdict = false;
    for (const f of this.files) {
      let sub: string;
      if (f.base === '') sub = relPath;
      else if (relPath.startsWith(`${f.base}/`)) sub = relPath.slice(f.base.length + 1);
      else continue;
      const v = f.rules.test(sub, isDir);
      if (v !== undefined) verdict = v;
    }
    return verdict;
  }
}
