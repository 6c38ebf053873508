// Property-based tests (fast-check, fixed seeds) for the parts that take hostile input: the message guards at every
// boundary, the chunker, and the .gitignore matcher against git itself (issue 14 item 18).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { isAttentionViewMessage, isHostToAttentionView } from '../../src/protocol/attentionView';
import { isHostToSearchView, isIndexState, isSearchViewMessage } from '../../src/protocol/search';
import { isGenerationOptions } from '../../src/protocol/summarize';
import { isHostToSummaryView, isSummaryViewMessage } from '../../src/protocol/summaryView';
import { isHostToWorker, isLocalModel, isWorkerRequest } from '../../src/protocol/worker';
import { chunkDocument } from '../../src/core/search/chunker';
import { GitignoreRules } from '../../src/core/search/globs';

const SEED = 20261207;
const params = (numRuns: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns });

const GUARDS: Record<string, (m: unknown) => boolean> = {
  isAttentionViewMessage,
  isHostToAttentionView,
  isSearchViewMessage,
  isHostToSearchView,
  isIndexState,
  isSummaryViewMessage,
  isHostToSummaryView,
  isGenerationOptions,
  isHostToWorker,
  isWorkerRequest,
  isLocalModel,
};

const id = fc.integer({ min: 0, max: 2 ** 31 });
/** Well-formed messages from the three webviews (every field required: the guards refuse extra and missing keys). */
const webviewMessages: [string, (m: unknown) => boolean, fc.Arbitrary<Record<string, unknown>>][] = [
  ['attention view', isAttentionViewMessage, fc.oneof(
    fc.constant({ type: 'ready' }),
    fc.record({ type: fc.constant('highlightToken'), index: id, reveal: fc.boolean() }),
    fc.record({ type: fc.constant('setPinned'), pinned: fc.boolean() }),
    fc.record({ type: fc.constant('moveWindow'), start: id }),
    fc.record({ type: fc.constant('requestLayer'), id, layer: fc.integer({ min: 0, max: 48 }) }),
    fc.record({ type: fc.constant('exportImage'), format: fc.constant('png'), data: fc.base64String().map((b) => `data:image/png;base64,${b}`) }),
  )],
  ['search panel', isSearchViewMessage, fc.oneof(
    fc.constantFrom({ type: 'ready' }, { type: 'indexWorkspace' }, { type: 'cancelIndexing' }, { type: 'showSkipped' }),
    fc.record({ type: fc.constant('search'), requestId: id, query: fc.string({ maxLength: 200 }), mode: fc.constantFrom('hybrid', 'vector', 'lexical'), k: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ type: fc.constant('cancelSearch'), requestId: id }),
    fc.record({ type: fc.constant('open'), requestId: id, index: id, preserveFocus: fc.boolean() }),
  )],
  ['summary panel', isSummaryViewMessage, fc.oneof(
    fc.constant({ type: 'ready' }),
    fc.record({ type: fc.constantFrom('cancel', 'insertComment', 'requestCrossAttention'), id }),
    fc.record({ type: fc.constant('copy'), text: fc.string({ maxLength: 200 }) }),
    fc.tuple(id, id, id).map(([i, a, b]) => ({ type: 'reveal', id: i, start: Math.min(a, b), end: Math.max(a, b) })),
    fc.record({ type: fc.constant('rerun'), id, mode: fc.constantFrom('abstractive', 'extractive') }),
  )],
];

/** A value of another kind than `v`, so a field that held `v` no longer fits. */
function otherKind(v: unknown): unknown {
  if (typeof v === 'string') return 42;
  if (typeof v === 'boolean') return 'true';
  return 'x';
}

describe('properties (fast-check): message guards, chunker, .gitignore against git (issue 14 item 18)', function () {
  this.timeout(120_000);

  it('no guard throws on any value, and none passes a primitive, an array or null', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true }), (v) => {
        for (const [name, guard] of Object.entries(GUARDS)) {
          const ok = guard(v);
          // Generation options are optional: undefined stands for the defaults.
          if ((typeof v !== 'object' || v === null || Array.isArray(v)) && ok && !(name === 'isGenerationOptions' && v === undefined)) assert.fail(`${name} passed ${fc.stringify(v)}`);
        }
      }),
      params(2000),
    );
  });

  for (const [name, guard, messages] of webviewMessages) {
    it(`${name}: well-formed messages pass; any added, missing or retyped field fails`, () => {
      fc.assert(
        fc.property(messages, fc.nat(), fc.string({ minLength: 1, maxLength: 12 }), (m, pick, extra) => {
          assert.ok(guard(m), `refused ${JSON.stringify(m)}`);
          const keys = Object.keys(m);
          const key = keys[pick % keys.length]!;
          if (!(extra in m)) assert.ok(!guard({ ...m, [extra]: 1 }), `passed with an extra field: ${extra}`);
          const { [key]: _dropped, ...missing } = m;
          assert.ok(!guard(missing), `passed without ${key}`);
          assert.ok(!guard({ ...m, [key]: otherKind(m[key]) }), `passed with ${key} = ${JSON.stringify(otherKind(m[key]))}`);
        }),
        params(1000),
      );
    });
  }

  it('chunker: on any text (Unicode, CRLF, huge lines) every chunk is its exact range, no surrogate pair is split, and every visible character is in a chunk', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.constantFrom('\n', '\r\n', '\n\n', '\t', '    ', '# Heading\n', '```\n', 'function f() {\n', '}\n', '😀'),
      fc.integer({ min: 200, max: 3000 }).map((n) => 'x'.repeat(n)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.constantFrom('notes.md', 'a.ts', 'readme.txt'), (parts, relPath) => {
        const text = parts.join('');
        const chunks = chunkDocument({ uri: `mem:///${relPath}`, relPath, text }, { maxTokens: 64 });
        const covered = new Uint8Array(text.length);
        for (const c of chunks) {
          assert.ok(c.startOffset < c.endOffset && c.endOffset <= text.length, `range ${c.startOffset}-${c.endOffset}`);
          assert.equal(c.text, text.slice(c.startOffset, c.endOffset));
          for (const at of [c.startOffset, c.endOffset]) {
            const splits = at > 0 && at < text.length && /[\uD800-\uDBFF]/.test(text[at - 1]!) && /[\uDC00-\uDFFF]/.test(text[at]!);
            assert.ok(!splits, `a surrogate pair split at ${at}`);
          }
          covered.fill(1, c.startOffset, c.endOffset);
        }
        for (let i = 0; i < text.length; i++) if (!covered[i] && /\S/.test(text[i]!)) assert.fail(`character ${i} (${JSON.stringify(text[i])}) is in no chunk`);
      }),
      params(300),
    );
  });

  it('.gitignore rules agree with git check-ignore on generated trees and patterns', () => {
    const name = fc.constantFrom('a', 'b', 'ab', 'x.log', 'y.txt', 'build', 'docs');
    const segment = fc.oneof(name, fc.constantFrom('*', '*.log', 'a*', '?', 'b?', '**'));
    const pattern = fc
      .tuple(fc.boolean(), fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([negate, anchored, segs, dirOnly]) => `${negate ? '!' : ''}${anchored ? '/' : ''}${segs.join('/')}${dirOnly ? '/' : ''}`)
      .filter((p) => !/\*\*\*|^!?\/?\*\*$/.test(p));
    const tree = fc.uniqueArray(fc.array(name, { minLength: 1, maxLength: 3 }).map((p) => p.join('/')), { minLength: 1, maxLength: 12 });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-gitignore-'));
    try {
      fc.assert(
        fc.property(tree, fc.array(pattern, { minLength: 1, maxLength: 5 }), (files, patterns) => {
          const repo = fs.mkdtempSync(path.join(root, 'repo-'));
          try {
            execFileSync('git', ['init', '-q', repo]);
            // A path cannot be both a file and a folder: keep files whose path is no other file's folder.
            const kept = files.filter((f) => !files.some((g) => g.startsWith(`${f}/`)));
            for (const f of kept) {
              fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
              fs.writeFileSync(path.join(repo, f), 'x');
            }
            fs.writeFileSync(path.join(repo, '.gitignore'), `${patterns.join('\n')}\n`);
            const rules = GitignoreRules.none.with('', patterns.join('\n'));
            // Every path the walker would ask about: folders (pruned when ignored) and the files under visible folders.
            const asked: { rel: string; isDir: boolean }[] = [];
            const seen = new Set<string>();
            for (const f of kept) {
              const parts = f.split('/');
              for (let i = 1; i <= parts.length; i++) {
                const rel = parts.slice(0, i).join('/');
                if (seen.has(rel)) continue;
                seen.add(rel);
                asked.push({ rel, isDir: i < parts.length });
              }
            }
            const visible = asked.filter(({ rel }) => {
              const parts = rel.split('/');
              return parts.slice(1).every((_, i) => !rules.ignores(parts.slice(0, i + 1).join('/'), true));
            });
            // Folders exist on disk, so git knows them for folders (and applies folder-only patterns to them).
            const ignoredByGit = gitIgnored(repo, visible.map(({ rel }) => rel));
            for (const { rel, isDir } of visible) {
              const ours = rules.ignores(rel, isDir);
              const git = ignoredByGit.has(rel);
              assert.equal(ours, git, `${rel}${isDir ? '/' : ''} with .gitignore ${JSON.stringify(patterns)}: ours ${ours}, git ${git}`);
            }
          } finally {
            fs.rmSync(repo, { recursive: true, force: true });
          }
        }),
        params(150),
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

/** The paths git ignores, of `paths` (folders end with "/"), by `git check-ignore --no-index`. */
function gitIgnored(repo: string, paths: readonly string[]): Set<string> {
  if (paths.length === 0) return new Set();
  let out: string;
  try {
    out = execFileSync('git', ['-C', repo, 'check-ignore', '--no-index', '-v', '-n', '--stdin'], { input: paths.join('\n'), encoding: 'utf8' });
  } catch (e) {
    out = (e as { stdout?: string }).stdout ?? '';
  }
  const ignored = new Set<string>();
  for (const line of out.split('\n')) {
    const [source, p] = line.split('\t');
    // "-v -n" prints every path; a matched pattern is ignored unless it is a negation ("!").
    if (p === undefined || source === undefined || source.startsWith('::')) continue;
    const patternText = source.split(':').slice(2).join(':');
    if (!patternText.startsWith('!')) ignored.add(p);
  }
  return ignored;
}
