import * as assert from 'node:assert/strict';
import type { ListedItem } from '../../src/core/search/types';
import { PendingChanges } from '../../src/vscode/search/pendingChanges';
import { excludeRulesFrom, FolderWalker, siblingName, type NodeKind, type WalkFileSystem, type WalkOptions } from '../../src/vscode/search/workspaceWalk';

type Node = { kind: 'file'; text: string } | { kind: 'dir' } | { kind: NodeKind };

/** An in-memory file system under `mem://ws/`, counting the calls the walker makes. */
class MemoryFs implements WalkFileSystem {
  readonly nodes = new Map<string, Node>();
  readonly unreadable = new Set<string>();
  calls = { readDirectory: 0, stat: 0, readSmallText: 0 };

  constructor(files: Record<string, string | NodeKind>) {
    this.nodes.set('', { kind: 'dir' });
    for (const [rel, content] of Object.entries(files)) {
      const parts = rel.split('/');
      for (let i = 1; i < parts.length; i++) this.nodes.set(parts.slice(0, i).join('/'), { kind: 'dir' });
      this.nodes.set(rel, typeof content === 'string' && !['file', 'directory', 'fileLink', 'directoryLink', 'brokenLink', 'other'].includes(content) ? { kind: 'file', text: content } : { kind: content as NodeKind });
    }
  }

  private rel(uri: string): string {
    return uri.replace(/^mem:\/\/ws\/?/, '');
  }

  async readDirectory(uri: string): Promise<readonly (readonly [string, NodeKind])[]> {
    this.calls.readDirectory++;
    const dir = this.rel(uri);
    if (this.unreadable.has(dir)) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const out: [string, NodeKind][] = [];
    for (const [rel, node] of this.nodes) {
      if (rel === '' || rel === dir) continue;
      const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      if (parent !== dir) continue;
      out.push([rel.slice(parent ? parent.length + 1 : 0), node.kind === 'dir' ? 'directory' : node.kind]);
    }
    return out.reverse();
  }

  async stat(uri: string): Promise<{ kind: NodeKind; size: number; mtime: number }> {
    this.calls.stat++;
    const node = this.nodes.get(this.rel(uri));
    if (!node) throw Object.assign(new Error(`ENOENT: ${uri}`), { code: 'ENOENT' });
    const kind = node.kind === 'dir' ? 'directory' : node.kind;
    return { kind, size: 'text' in node ? node.text.length : 0, mtime: 1000.7 };
  }

  async readSmallText(uri: string): Promise<string | undefined> {
    this.calls.readSmallText++;
    const node = this.nodes.get(this.rel(uri));
    return node && 'text' in node ? node.text : undefined;
  }

  /** Links point inside the workspace unless `linkTargets` says where else. */
  readonly linkTargets = new Map<string, string>();

  async realPath(uri: string): Promise<string | undefined> {
    const rel = this.rel(uri);
    return this.linkTargets.get(rel) ?? (rel === '' ? '/ws' : `/ws/${rel}`);
  }

  join(base: string, rel: string): string {
    return `${base.replace(/\/$/, '')}/${rel}`;
  }
}

const options = (over: Partial<WalkOptions> = {}): WalkOptions => ({ excludes: { globs: [], conditional: [] }, gitignore: true, maxFileBytes: 100, ...over });

async function list(walker: FolderWalker): Promise<ListedItem[]> {
  const out: ListedItem[] = [];
  for await (const item of walker.list()) out.push(item);
  return out;
}

const summary = (items: ListedItem[]): string[] =>
  items.map((i) => (i.type === 'file' ? i.relPath : i.type === 'ignored' ? `${i.relPath} (${i.by})` : `${i.relPath} [${i.reason}${i.detail ? `: ${i.detail}` : ''}]`));

describe('search: workspace listing rules (VS Code-free)', () => {
  it('merges files.exclude and search.exclude: true excludes, false re-includes, `when` clauses need a sibling', () => {
    const rules = excludeRulesFrom({ '**/.git': true, '**/out': true, '**/*.js': { when: '$(basename).ts' } }, { '**/out': false, '**/node_modules': true, '': true, '**/x': 'yes' });
    assert.deepEqual(rules.globs, ['**/.git', '**/node_modules']);
    assert.deepEqual(rules.conditional, [{ glob: '**/*.js', sibling: '$(basename).ts' }]);
    assert.equal(siblingName('$(basename).ts', 'app.js'), 'app.ts');
    assert.equal(siblingName('$(basename).ts', 'app.min.js'), 'app.min.ts');
    assert.equal(siblingName('$(basename).map', '.eslintrc'), '.eslintrc.map');
  });

  it('lists depth-first in name order, honouring excludes, sibling clauses, nested .gitignore files and .git/info/exclude', async () => {
    const fs = new MemoryFs({
      '.git/info/exclude': 'secret.txt\n',
      '.git/HEAD': 'ref',
      '.gitignore': 'build/\n*.log\n',
      'README.md': 'hello',
      'secret.txt': 'x',
      'debug.log': 'x',
      'build/out.txt': 'x',
      'src/app.ts': 'x',
      'src/app.js': 'x',
      'src/lone.js': 'x',
      'src/gen/.gitignore': '*\n!keep.ts\n',
      'src/gen/drop.ts': 'x',
      'src/gen/keep.ts': 'x',
      'node_modules/pkg/index.js': 'x',
    });
    const walker = new FolderWalker(fs, 'mem://ws', '', options({ excludes: excludeRulesFrom({ '**/node_modules': true, '**/*.js': { when: '$(basename).ts' } }) }));
    assert.deepEqual(summary(await list(walker)), [
      '.git (exclude)',
      'build (gitignore)',
      'debug.log (gitignore)',
      'node_modules (exclude)',
      'secret.txt (gitignore)',
      '.gitignore',
      'README.md',
      'src/app.js (exclude)',
      'src/app.ts',
      'src/lone.js',
      'src/gen/.gitignore (gitignore)',
      'src/gen/drop.ts (gitignore)',
      'src/gen/keep.ts',
    ]);
    assert.equal(fs.calls.readDirectory, 3, 'ignored folders are never opened');
  });

  it('reports oversized files, links to folders, dangling links, special files and unreadable folders', async () => {
    const fs = new MemoryFs({ 'big.txt': 'x'.repeat(101), 'ok.txt': 'x'.repeat(100), 'link': 'directoryLink', 'dead': 'brokenLink', 'fifo': 'other', 'alias.txt': 'fileLink', 'locked/a.txt': 'x' });
    fs.unreadable.add('locked');
    const items = await list(new FolderWalker(fs, 'mem://ws', 'ws/', options()));
    assert.deepEqual(summary(items), [
      'ws/alias.txt',
      'ws/big.txt [tooLarge: 101 B > 100 B]',
      'ws/dead [unreadable: dangling link]',
      'ws/fifo [special: not a regular file]',
      'ws/link [special: link to a folder (not followed)]',
      'ws/ok.txt',
      'ws/locked [unreadable: EACCES: permission denied]',
    ]);
    const ok = items.find((i) => i.relPath === 'ws/ok.txt')!;
    assert.deepEqual(ok, { type: 'file', uri: 'mem://ws/ok.txt', relPath: 'ws/ok.txt', size: 100, mtime: 1000 });
  });

  it('does not follow links to files outside the folder unless the user opts in (issue 14 item 9)', async () => {
    const fs = new MemoryFs({ 'alias.txt': 'fileLink', 'secret.txt': 'fileLink', 'unresolved.txt': 'fileLink', 'a.txt': 'x' });
    fs.linkTargets.set('secret.txt', '/home/user/.ssh/id_rsa');
    fs.linkTargets.set('alias.txt', '/ws/a.txt');
    fs.realPath = async (uri: string) => (uri.endsWith('unresolved.txt') ? undefined : MemoryFs.prototype.realPath.call(fs, uri));
    const outside = 'link to a file outside the folder (not followed)';
    assert.deepEqual(summary(await list(new FolderWalker(fs, 'mem://ws', '', options()))), ['a.txt', 'alias.txt', `secret.txt [special: ${outside}]`, `unresolved.txt [special: ${outside}]`]);
    assert.deepEqual(await new FolderWalker(fs, 'mem://ws', '', options()).describe('secret.txt'), {
      type: 'skipped',
      skipped: { type: 'skipped', relPath: 'secret.txt', uri: 'mem://ws/secret.txt', reason: 'special', detail: outside },
    });
    assert.deepEqual(summary(await list(new FolderWalker(fs, 'mem://ws', '', options({ followExternalLinks: true })))), ['a.txt', 'alias.txt', 'secret.txt', 'unresolved.txt']);
  });

  it('describes single paths as a full listing would (for file events), reading only their ancestors’ rules', async () => {
    const fs = new MemoryFs({
      '.gitignore': 'build/\n',
      'a/.gitignore': '*.tmp\n',
      'a/b/note.md': 'x',
      'a/b/scratch.tmp': 'x',
      'a/app.ts': 'x',
      'a/app.js': 'x',
      'build/x.md': 'x',
      'huge.md': 'x'.repeat(500),
      'dist/y.md': 'x',
    });
    const walker = new FolderWalker(fs, 'mem://ws', '', options({ excludes: excludeRulesFrom({ dist: true, '**/*.js': { when: '$(basename).ts' } }) }));
    assert.deepEqual(await walker.describe('a/b/note.md'), { type: 'file', entry: { uri: 'mem://ws/a/b/note.md', relPath: 'a/b/note.md', size: 1, mtime: 1000 } });
    assert.deepEqual(await walker.describe('a/b/scratch.tmp'), { type: 'ignored' });
    assert.deepEqual(await walker.describe('build/x.md'), { type: 'ignored' });
    assert.deepEqual(await walker.describe('dist/y.md'), { type: 'ignored' });
    assert.deepEqual(await walker.describe('a/app.js'), { type: 'ignored' });
    assert.deepEqual(await walker.describe('a/gone.md'), { type: 'missing' });
    assert.deepEqual(await walker.describe('a/b'), { type: 'directory' });
    const huge = await walker.describe('huge.md');
    assert.equal(huge.type === 'skipped' && huge.skipped.reason, 'tooLarge');
    assert.equal(fs.calls.readDirectory, 0, 'no folder listed');

    fs.nodes.set('a/.gitignore', { kind: 'file', text: '' });
    assert.deepEqual(await walker.describe('a/b/scratch.tmp'), { type: 'ignored' }, 'rules are cached…');
    walker.invalidateGitignore();
    assert.equal((await walker.describe('a/b/scratch.tmp')).type, 'file', '…until a .gitignore changes');
  });

  it('can turn .gitignore off (search.useIgnoreFiles = false)', async () => {
    const fs = new MemoryFs({ '.gitignore': '*.md\n', 'a.md': 'x' });
    assert.deepEqual(summary(await list(new FolderWalker(fs, 'mem://ws', '', options({ gitignore: false })))), ['.gitignore', 'a.md']);
    assert.equal(fs.calls.readSmallText, 0);
  });
});

describe('search: pending file events', () => {
  it('coalesces events per URI, latest kind wins, order of first sight kept', () => {
    const p = new PendingChanges();
    assert.ok(p.empty);
    p.add('u1', 'changed');
    p.add('u2', 'deleted');
    p.add('u1', 'changed');
    p.add('u3', 'deleted');
    p.add('u3', 'changed');
    p.rename('old', 'new');
    assert.ok(!p.empty);
    assert.deepEqual(p.take(), { full: false, renames: [{ oldUri: 'old', newUri: 'new' }], changed: ['u1', 'u3'], deleted: ['u2'] });
    assert.ok(p.empty);
  });

  it('turns a burst of events into one full rescan', () => {
    const p = new PendingChanges(3);
    for (const u of ['a', 'b', 'c', 'd', 'e']) p.add(u, 'changed');
    p.rename('x', 'y');
    assert.ok(p.fullRequested);
    assert.deepEqual(p.take(), { full: true, renames: [], changed: [], deleted: [] });
    assert.ok(!p.fullRequested);
  });
});
