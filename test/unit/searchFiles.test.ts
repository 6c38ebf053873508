import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileGlob, ExcludeMatcher, GitignoreRules } from '../../src/core/search/globs';
import { NodeFileSource } from '../../src/core/search/nodeFileSource';
import { decodeText } from '../../src/core/search/textFiles';
import type { ListedItem } from '../../src/core/search/types';

async function listAll(source: NodeFileSource): Promise<ListedItem[]> {
  const out: ListedItem[] = [];
  for await (const item of source.list()) out.push(item);
  return out;
}

function write(root: string, rel: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

describe('search: globs and .gitignore rules', () => {
  it('VS Code globs: *, ?, **, classes, braces, folder excludes', () => {
    const yes: [string, string][] = [
      ['**/node_modules', 'node_modules'],
      ['**/node_modules', 'a/b/node_modules'],
      ['**/*.js', 'x.js'],
      ['**/*.js', 'a/b/x.js'],
      ['src/*.ts', 'src/a.ts'],
      ['src/**/*.ts', 'src/a/b/c.ts'],
      ['src/**/*.ts', 'src/c.ts'],
      ['*.{png,jpg}', 'a.jpg'],
      ['file?.txt', 'file1.txt'],
      ['[ab]*.md', 'b-notes.md'],
      ['[!ab]*.md', 'c.md'],
    ];
    for (const [glob, p] of yes) assert.ok(compileGlob(glob).test(p), `${glob} should match ${p}`);
    const no: [string, string][] = [
      ['src/*.ts', 'src/a/b.ts'],
      ['*.js', 'a/x.js'],
      ['*.{png,jpg}', 'a.gif'],
      ['file?.txt', 'file10.txt'],
      ['[!ab]*.md', 'a.md'],
    ];
    for (const [glob, p] of no) assert.ok(!compileGlob(glob).test(p), `${glob} should not match ${p}`);
    const ex = new ExcludeMatcher(['out/**', '**/*.min.js']);
    assert.equal(ex.matches('out', true), true, 'a folder matched by "out/**" is pruned');
    assert.equal(ex.matches('out', false), false);
    assert.equal(ex.matches('lib/a.min.js', false), true);
  });

  it('.gitignore: anchoring, folder-only rules, negation, nested files scoped to their folder', () => {
    const rules = GitignoreRules.none.with('', '# comment\n*.log\n!keep.log\n/rootonly.txt\nbuild/\ndocs/**/draft-*\n\\#hash\n').with('sub', 'secret.md\n');
    const cases: [string, boolean, boolean][] = [
      ['debug.log', false, true],
      ['deep/dir/debug.log', false, true],
      ['keep.log', false, false],
      ['rootonly.txt', false, true],
      ['sub/rootonly.txt', false, false],
      ['build', true, true],
      ['build', false, false],
      ['a/build', true, true],
      ['docs/x/y/draft-1.md', false, true],
      ['docs/final.md', false, false],
      ['#hash', false, true],
      ['sub/secret.md', false, true],
      ['sub/deeper/secret.md', false, true],
      ['other/secret.md', false, false],
    ];
    for (const [p, isDir, ignored] of cases) assert.equal(rules.ignores(p, isDir), ignored, `${p}${isDir ? '/' : ''}`);
  });

  it('hostile patterns from a cloned repository are matched in linear time (issue 14 item 1)', async function () {
    // Each case froze a backtracking matcher for 28 s to 112 s; RE2 answers in milliseconds. The bound is loose
    // enough for a loaded machine and far below what any backtracking engine needs for these inputs.
    this.timeout(240_000);
    const started = Date.now();
    const starsThenB = `${'*a'.repeat(14)}*b`;
    assert.equal(GitignoreRules.none.with('', `${starsThenB}\n`).ignores('a'.repeat(36), false), false);
    assert.equal(GitignoreRules.none.with('', `${starsThenB}\n`).ignores(`${'a'.repeat(36)}b`, false), true);
    assert.equal(compileGlob('*a'.repeat(16)).test('a'.repeat(40)), true);
    assert.equal(compileGlob(`${'*a'.repeat(16)}*b`).test('a'.repeat(40)), false);
    const deep = `${Array.from({ length: 25 }, (_, i) => `d${i}`).join('/')}/file.txt`;
    assert.equal(GitignoreRules.none.with('', `${'/**'.repeat(12)}/zz\n`).ignores(deep, false), false);
    assert.equal(new ExcludeMatcher([`${'**/'.repeat(12)}zz`]).matches(deep, false), false);
    // The same .gitignore line in a real folder, through the walker the CLI and the editor use.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-redos-'));
    try {
      write(dir, '.gitignore', `${starsThenB}\n${'/**'.repeat(12)}/zz\n`);
      write(dir, `${'a'.repeat(36)}.md`, 'kept');
      write(dir, `${'a'.repeat(36)}b`, 'ignored');
      const items = await listAll(new NodeFileSource(dir));
      assert.deepEqual(items.filter((i) => i.type === 'file').map((i) => i.relPath).sort(), ['.gitignore', `${'a'.repeat(36)}.md`]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3000, `hostile patterns took ${elapsed} ms`);
  });

  it('decodes UTF-8 and UTF-16 text; NUL bytes and invalid UTF-8 are binary', () => {
    assert.deepEqual(decodeText(new TextEncoder().encode('héllo')), { text: 'héllo' });
    assert.deepEqual(decodeText(Buffer.from([0xef, 0xbb, 0xbf, 0x61])), { text: 'a' });
    assert.deepEqual(decodeText(Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x62, 0x00])), { text: 'ab' });
    assert.ok('binary' in decodeText(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01])));
    assert.ok('binary' in decodeText(Buffer.from('caf\xe9', 'latin1')));
  });
});

describe('search: NodeFileSource', function () {
  this.timeout(20_000);
  let root: string;

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-files-'));
    write(root, '.gitignore', '*.log\nbuild/\n!keep.log\n/rootonly.txt\n');
    write(root, 'a.ts', 'export const a = 1;\n');
    write(root, 'debug.log', 'x');
    write(root, 'keep.log', 'kept');
    write(root, 'rootonly.txt', 'x');
    write(root, 'build/out.js', 'x');
    write(root, 'sub/.gitignore', 'secret.md\n');
    write(root, 'sub/rootonly.txt', 'not anchored here');
    write(root, 'sub/secret.md', 'x');
    write(root, 'sub/notes.md', '# Notes');
    write(root, 'other/secret.md', 'visible');
    write(root, 'node_modules/x/index.js', 'x');
    write(root, 'dist/bundle.js', 'x');
    write(root, '.git/config', 'x');
    write(root, 'big.txt', 'y'.repeat(2048));
    write(root, 'image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
    execFileSync('mkfifo', [path.join(root, 'pipe')]);
    fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'dangling'));
    fs.symlinkSync(path.join(root, 'sub'), path.join(root, 'linkdir'));
    fs.symlinkSync(path.join(root, 'a.ts'), path.join(root, 'linkfile.ts'));
    fs.symlinkSync(path.join(root, 'pipe'), path.join(root, 'linkpipe'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists files honouring nested .gitignore and exclude globs, and reports what it skips without opening it', async () => {
    const source = new NodeFileSource(root, { excludeGlobs: ['**/.git', '**/node_modules', '**/dist'], maxFileBytes: 1024 });
    const items = await listAll(source);
    const files = items.filter((i) => i.type === 'file').map((i) => i.relPath);
    assert.deepEqual(files, ['.gitignore', 'a.ts', 'image.png', 'keep.log', 'linkfile.ts', 'other/secret.md', 'sub/.gitignore', 'sub/notes.md', 'sub/rootonly.txt']);
    const skipped = Object.fromEntries(items.filter((i) => i.type === 'skipped').map((i) => [i.relPath, i.type === 'skipped' ? i.reason : '']));
    assert.deepEqual(skipped, { 'big.txt': 'tooLarge', dangling: 'unreadable', linkdir: 'special', linkpipe: 'special', pipe: 'special' });
    const ignored = Object.fromEntries(items.filter((i) => i.type === 'ignored').map((i) => [i.relPath, i.type === 'ignored' ? i.by : '']));
    assert.deepEqual(ignored, {
      '.git': 'exclude',
      build: 'gitignore',
      'debug.log': 'gitignore',
      dist: 'exclude',
      node_modules: 'exclude',
      'rootonly.txt': 'gitignore',
      'sub/secret.md': 'gitignore',
    });
    const entry = items.find((i) => i.type === 'file' && i.relPath === 'a.ts');
    assert.ok(entry && entry.type === 'file');
    assert.equal(entry.uri, source.uriOf('a.ts'));
    assert.equal(entry.size, 20);
    assert.equal(new TextDecoder().decode(await source.read(entry.uri)), 'export const a = 1;\n');
    // A file that is (or grew) over the limit costs one byte more than the limit, never its whole size (issue 14 item 4).
    assert.equal((await source.read(source.uriOf('big.txt'))).length, 1025);
  });

  it('does not follow links to files outside the folder unless asked to (issue 14 item 9)', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-outside-'));
    const inside = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-inside-'));
    try {
      write(outside, 'private.md', 'a private note');
      write(inside, 'notes.md', '# Notes');
      fs.symlinkSync(path.join(outside, 'private.md'), path.join(inside, 'private.md'));
      fs.symlinkSync(path.join(inside, 'notes.md'), path.join(inside, 'alias.md'));
      const listed = async (options: { followExternalLinks?: boolean }): Promise<string[]> =>
        (await listAll(new NodeFileSource(inside, options))).map((i) => `${i.relPath}${i.type === 'skipped' ? ` [${i.detail}]` : ''}`);
      assert.deepEqual(await listed({}), ['alias.md', 'notes.md', 'private.md [link to a file outside the folder (not followed)]']);
      assert.deepEqual(await listed({ followExternalLinks: true }), ['alias.md', 'notes.md', 'private.md']);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
      fs.rmSync(inside, { recursive: true, force: true });
    }
  });

  it('never blocks on a FIFO, even when asked to read one', async () => {
    const source = new NodeFileSource(root);
    const started = Date.now();
    await assert.rejects(source.read(source.uriOf('pipe')), /not a regular file/);
    await assert.rejects(source.read(source.uriOf('linkpipe')), /not a regular file/);
    assert.ok(Date.now() - started < 2000);
  });

  it('reports folders it cannot list (vanished or unreadable) and a missing root, and goes on', async () => {
    write(root, 'zz/a.txt', 'x');
    write(root, 'zz/gone/file.txt', 'x');
    const source = new NodeFileSource(root);
    const items: ListedItem[] = [];
    for await (const item of source.list()) {
      // The walk reads a folder only after yielding its parent's files: remove one before it gets there.
      if (item.relPath === 'zz/a.txt') fs.rmSync(path.join(root, 'zz', 'gone'), { recursive: true });
      items.push(item);
    }
    const gone = items.find((i) => i.relPath === 'zz/gone');
    assert.ok(gone && gone.type === 'skipped' && gone.reason === 'unreadable', JSON.stringify(gone));
    assert.match(gone.type === 'skipped' ? (gone.detail ?? '') : '', /ENOENT/);
    fs.rmSync(path.join(root, 'zz'), { recursive: true });

    const missing = await listAll(new NodeFileSource(path.join(root, 'no-such-dir')));
    assert.deepEqual(missing.map((i) => [i.type, i.relPath]), [['skipped', '.']]);

    if (process.getuid?.() !== 0) {
      write(root, 'locked/x.txt', 'x');
      fs.chmodSync(path.join(root, 'locked'), 0);
      try {
        const locked = (await listAll(new NodeFileSource(root))).find((i) => i.relPath === 'locked');
        assert.equal(locked?.type === 'skipped' && locked.reason, 'unreadable');
      } finally {
        fs.chmodSync(path.join(root, 'locked'), 0o755);
        fs.rmSync(path.join(root, 'locked'), { recursive: true });
      }
    }
  });
});
