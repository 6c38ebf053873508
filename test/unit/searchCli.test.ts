import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SemanticIndex } from '../../src/core/search/semanticIndex';
import type { Embedder } from '../../src/core/search/types';
import { cliScript, fixtureModel } from '../harness/paths';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const tiny = fixtureModel('tiny-bert');

describe('bert-lens index / search (CLI)', function () {
  this.timeout(120_000);
  let root: string;
  let dir: string;
  let store: string;
  let home: string;

  const cli = (...args: string[]): Run => {
    const r = spawnSync(process.execPath, [cliScript, ...args], {
      encoding: 'utf8',
      env: { ...process.env, HOME: home, BERT_LENS_CACHE: path.join(home, 'cache') },
      maxBuffer: 64 * 2 ** 20,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-search-cli-'));
    home = path.join(root, 'home');
    dir = path.join(root, 'project');
    store = path.join(root, 'store');
    fs.mkdirSync(home);
    fs.mkdirSync(path.join(dir, 'docs'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'build'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.gitignore'), 'build/\n');
    fs.writeFileSync(path.join(dir, 'docs', 'guide.md'), '# Guide\n\nIntro paragraph about installing.\n\n## Backups\n\nThe nightly snapshot job copies the zebracorn database to cold storage.\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'Shopping list: apples, pears.\n\nMeeting notes: the quokka team ships on Friday.\n');
    fs.writeFileSync(path.join(dir, 'build', 'out.txt'), 'zebracorn generated copy that .gitignore hides\n');
    fs.writeFileSync(path.join(dir, 'image.bin'), Buffer.from([0x89, 0x50, 0, 1, 2, 3]));
    fs.writeFileSync(path.join(dir, 'huge.txt'), 'word '.repeat(300_000));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('index --json indexes the folder, honours .gitignore and reports what it skipped', () => {
    const r = cli('index', dir, '--model', tiny, '--store', store, '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      files: number;
      chunks: number;
      filesIndexed: number;
      chunksEmbedded: number;
      ignored: number;
      skipped: { path: string; reason: string }[];
      opened: string;
    };
    assert.equal(out.opened, 'created');
    assert.equal(out.files, 3, 'guide.md, notes.txt and .gitignore');
    assert.ok(out.chunks >= 3 && out.chunksEmbedded === out.chunks, JSON.stringify(out));
    assert.equal(out.ignored, 1, 'build/ is ignored as one folder');
    assert.deepEqual(out.skipped.map((s) => `${s.path}:${s.reason}`).sort(), ['huge.txt:tooLarge', 'image.bin:binary']);
    assert.match(r.stderr, /done/, 'progress goes to stderr');
  });

  it('index again embeds nothing: every file is unchanged', () => {
    const r = cli('index', dir, '--model', tiny, '--store', store, '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { opened: string; filesIndexed: number; chunksEmbedded: number };
    assert.equal(out.opened, 'loaded');
    assert.equal(out.filesIndexed, 0);
    assert.equal(out.chunksEmbedded, 0);
  });

  it('search --json prints the documented shape: relative paths, 1-based lines, score, text', () => {
    const r = cli('search', 'zebracorn database', '--dir', dir, '--model', tiny, '--store', store, '--mode', 'lexical', '-k', '2', '--json');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const out = JSON.parse(lines[0]!) as { query: string; results: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(out), ['query', 'results']);
    assert.equal(out.query, 'zebracorn database');
    assert.ok(out.results.length >= 1 && out.results.length <= 2);
    const top = out.results[0]!;
    assert.deepEqual(Object.keys(top).filter((k) => k !== 'context').sort(), ['endLine', 'path', 'score', 'startLine', 'text']);
    assert.ok(top.context === undefined || (typeof top.context === 'string' && top.context !== ''), 'a context, when there is one, is text');
    assert.equal(top.path, 'docs/guide.md');
    assert.match(top.text as string, /zebracorn database/);
    const fileLines = fs.readFileSync(path.join(dir, 'docs', 'guide.md'), 'utf8').split('\n');
    const line = fileLines.findIndex((l) => l.includes('zebracorn')) + 1;
    assert.ok((top.startLine as number) <= line && line <= (top.endLine as number), `line ${line} within ${top.startLine}-${top.endLine}`);
    assert.equal(fileLines[(top.startLine as number) - 1], (top.text as string).split('\n')[0]);
    assert.ok(typeof top.score === 'number' && top.score > 0);
    assert.ok(!out.results.some((x) => String(x.path).startsWith('build/')), '.gitignore is honoured');
  });

  it('search in every mode, and readable output without --json', () => {
    for (const mode of ['hybrid', 'vector']) {
      const r = cli('search', 'quokka team', '--dir', dir, '--model', tiny, '--store', store, '--mode', mode, '--json');
      assert.equal(r.status, 0, r.stderr);
      assert.ok((JSON.parse(r.stdout) as { results: unknown[] }).results.length > 0, mode);
    }
    const r = cli('search', 'quokka team', '--dir', dir, '--model', tiny, '--store', store, '--mode', 'lexical');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /results for "quokka team"/);
    assert.match(r.stdout, /notes\.txt:\d+(-\d+)?\s+\(score/);
  });

  it('search --queries reads one query per line and prints one JSON object per line', () => {
    const file = path.join(root, 'queries.txt');
    fs.writeFileSync(path.join(root, 'queries.txt'), 'zebracorn\n\nquokka\napples pears\n');
    const r = cli('search', '--queries', file, '--dir', dir, '--model', tiny, '--store', store, '--mode', 'lexical', '-k', '1');
    assert.equal(r.status, 0, r.stderr);
    const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { query: string; results: { path: string }[] });
    assert.deepEqual(answers.map((a) => a.query), ['zebracorn', 'quokka', 'apples pears']);
    assert.deepEqual(answers.map((a) => a.results[0]?.path), ['docs/guide.md', 'notes.txt', 'notes.txt']);

    const stdin = spawnSync(process.execPath, [cliScript, 'search', '--queries', '-', '--dir', dir, '--model', tiny, '--store', store, '--mode', 'lexical'], {
      input: 'quokka\n',
      encoding: 'utf8',
      env: { ...process.env, HOME: home },
    });
    assert.equal(stdin.status, 0, stdin.stderr);
    assert.equal((JSON.parse(stdin.stdout) as { query: string }).query, 'quokka');
  });

  it('search brings the index up to date first', () => {
    fs.writeFileSync(path.join(dir, 'new.md'), 'A freshly written note about the platypus migration.\n');
    const r = cli('search', 'platypus', '--dir', dir, '--model', tiny, '--store', store, '--mode', 'lexical', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { results: { path: string }[] }).results[0]?.path, 'new.md');
    fs.rmSync(path.join(dir, 'new.md'));
  });

  it('reports errors on stderr with a non-zero exit code', () => {
    const missing = cli('search', 'x', '--dir', path.join(root, 'nope'), '--model', tiny, '--store', store);
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /nope does not exist/);
    const notDir = cli('index', path.join(dir, 'notes.txt'), '--model', tiny, '--store', store);
    assert.equal(notDir.status, 1);
    assert.match(notDir.stderr, /is not a folder/);
    const badModel = cli('index', dir, '--model', '/nonexistent/model', '--store', store);
    assert.equal(badModel.status, 1);
    assert.match(badModel.stderr, /No model found at \/nonexistent\/model/);
    const noQueries = cli('search', '--queries', path.join(root, 'missing.txt'), '--dir', dir, '--model', tiny, '--store', store);
    assert.equal(noQueries.status, 1);
    assert.match(noQueries.stderr, /cannot read queries from .*missing\.txt/);
    for (const [args, message] of [
      [['search', 'x', '--dir', dir, '--mode', 'fuzzy'], /--mode must be hybrid, vector or lexical/],
      [['search', 'x', '--dir', dir, '-k', '0'], /-k must be a whole number/],
      [['search', 'x', '--queries', 'q.txt', '--dir', dir], /one query argument, or --queries/],
      [['index'], /exactly one folder/],
    ] as const) {
      const r = cli(...args, '--model', tiny);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
    }
  });

  describe('interrupted indexing', function () {
    // Each test embeds a few thousand passages with the bundled encoder, twice: seconds on an idle machine, minutes
    // when the machine is loaded (the suite must pass there too). Nothing here depends on how long it takes.
    this.timeout(600_000);
    const FILES = 200;
    let big: string;
    before(() => {
      big = path.join(root, 'big');
      fs.mkdirSync(big);
      // Enough distinct passages (about 2,500) that the bundled encoder needs several seconds.
      for (let f = 0; f < FILES; f++) {
        const paragraphs = Array.from({ length: 30 }, (_, p) => `Paragraph ${p} of file ${f}: ${'the service retries uploads and writes logs '.repeat(4)}item ${f * 100 + p}.`);
        fs.writeFileSync(path.join(big, `file${String(f).padStart(2, '0')}.md`), paragraphs.join('\n\n'));
      }
    });

    /** Starts `index`, waits until more than `embedded` passages are embedded (progress on stderr), then sends `signal`. */
    function interrupt(signal: NodeJS.Signals, bigStore: string, embedded: number): Promise<Run & { signal: NodeJS.Signals | null }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [cliScript, 'index', big, '--model', 'bundled:use-lite', '--store', bigStore, '--json'], {
          env: { ...process.env, HOME: home },
        });
        let stdout = '';
        let stderr = '';
        let sent = false;
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          const m = /indexing \d+% .* (\d+) passages embedded/.exec(stderr.split('\n').filter(Boolean).at(-1) ?? '');
          if (!sent && m && Number(m[1]) > embedded) {
            sent = true;
            child.kill(signal);
          }
        });
        child.on('error', reject);
        child.on('close', (status, sig) => resolve({ status, signal: sig, stdout, stderr }));
      });
    }

    it('Ctrl+C stops cleanly (exit 130) and the next run resumes without re-embedding', async () => {
      const bigStore = path.join(root, 'big-store-int');
      const r = await interrupt('SIGINT', bigStore, 1100);
      assert.equal(r.status, 130, r.stderr);
      assert.match(r.stderr, /cancelled; the files indexed so far are saved/);
      assert.equal(r.stdout, '');
      const again = cli('index', big, '--model', 'bundled:use-lite', '--store', bigStore, '--json');
      assert.equal(again.status, 0, again.stderr);
      const out = JSON.parse(again.stdout) as { opened: string; files: number; filesUnchanged: number; filesIndexed: number };
      assert.equal(out.opened, 'loaded');
      assert.equal(out.files, FILES);
      assert.ok(out.filesUnchanged > 0, `resumed: ${out.filesUnchanged} files were already indexed`);
      assert.equal(out.filesUnchanged + out.filesIndexed, FILES);
    });

    it('a kill while the index is written leaves a usable index', async () => {
      const bigStore = path.join(root, 'big-store-kill');
      // An "indexing" progress line past 1,024 passages comes after the first commit finished: the kill lands later,
      // possibly in the middle of the next one.
      const r = await interrupt('SIGKILL', bigStore, 1100);
      assert.equal(r.signal, 'SIGKILL');
      // Opened directly (no model needed to check it): the stored index verifies and answers.
      const [folder] = fs.readdirSync(bigStore);
      const manifest = JSON.parse(fs.readFileSync(path.join(bigStore, folder!, 'manifest.json'), 'utf8')) as { modelKey: string; dims: number };
      const noModel: Embedder = { modelKey: manifest.modelKey, dims: manifest.dims, maxTokens: 128, embed: () => Promise.reject(new Error('not needed')) };
      const index = await SemanticIndex.open({ storeDir: bigStore, embedder: noModel });
      try {
        assert.equal(index.report.status, 'loaded', index.report.reason);
        assert.ok(index.report.files > 0 && index.report.chunks > 500, JSON.stringify(index.report));
        const hits = await index.search('item 17', { mode: 'lexical', k: 1 });
        assert.equal(hits[0]?.relPath, 'file00.md');
      } finally {
        await index.close();
      }
    });
  });
});
