// Kill tests for the files BERT Lens writes besides the index (test/unit/searchCrash.test.ts covers the index):
// the summary cache and Hub download parts. This file is also the child process that gets killed: run with
// BERT_LENS_CRASH_CHILD='{"kind":…}' it writes in a loop (or downloads) and prints "started" once under way.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeStaleTemps, writeFileAtomic } from '../../src/core/atomicFile';
import { HubDownloader } from '../../src/core/models/hubDownloader';
import { SummaryCache } from '../../src/vscode/summary/summaryCache';
import { HubMirror } from '../harness/hubMirror';
import { fixtureModel } from '../harness/paths';
import { seededRandom } from '../harness/searchFakes';

const CHILD_ENV = 'BERT_LENS_CRASH_CHILD';
const ID = 'test/tiny-bert';

type Child = { kind: 'file'; file: string } | { kind: 'cache'; file: string } | { kind: 'download'; cache: string; host: string };

/** A file whose every version is self-checking: generation n holds n lines "n:i" and ends with "end n". */
function fileVersion(n: number): string {
  return `${Array.from({ length: 200 + (n % 50) }, (_, i) => `${n}:${i}`).join('\n')}\nend ${n}\n`;
}

function isWholeVersion(text: string): boolean {
  const m = /end (\d+)\n$/.exec(text);
  return m !== null && text === fileVersion(Number(m[1]));
}

async function child(spec: Child): Promise<void> {
  if (spec.kind === 'file') {
    for (let n = 0; ; n++) {
      await writeFileAtomic(spec.file, fileVersion(n));
      if (n === 0) process.stdout.write('started\n');
    }
  }
  if (spec.kind === 'cache') {
    const cache = new SummaryCache(spec.file, { saveDelayMs: 0 });
    await cache.load();
    for (let n = cache.size; ; n++) {
      cache.set(SummaryCache.key(String(n)), { text: fileVersion(n % 7), mode: 'extractive', model: 'bundled:use-lite' });
      await cache.flush();
      if (n === cache.size - 1 || n % 50 === 0) process.stdout.write('started\n');
    }
  }
  let said = false;
  await new HubDownloader({ cacheDir: spec.cache, host: spec.host, allowDownloads: true }).ensure(ID, 'main', 'fp32', {
    onProgress: (p) => {
      if (!said && p.fileLoaded > 0) {
        said = true;
        process.stdout.write('started\n');
      }
    },
  });
  process.stdout.write('finished\n');
}

/** Starts a child, kills it with SIGKILL `delayMs` after it says "started"; resolves with whether it finished first. */
function runAndKill(spec: Child, delayMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [__filename], { env: { ...process.env, [CHILD_ENV]: JSON.stringify(spec) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!timer && out.includes('started')) timer = setTimeout(() => proc.kill('SIGKILL'), delayMs);
    });
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' || out.includes('finished')) resolve(out.includes('finished'));
      else reject(new Error(`child exited with ${code}: ${err}`));
    });
  });
}

const raw = process.env[CHILD_ENV];
if (raw) {
  child(JSON.parse(raw) as Child).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
} else {
  describe('crash consistency: every file BERT Lens writes survives SIGKILL at random moments (issue 14 item 19)', function () {
    this.timeout(180_000);
    let root: string;
    const rand = seededRandom(Number(process.env.BERT_LENS_KILL_SEED ?? 2026));
    before(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-kill-'));
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it('the atomic write (index manifests, summary cache): 100 kills, never a torn file, leftovers cleared', async () => {
      const file = path.join(root, 'manifest.json');
      let whole = 0;
      for (let i = 0; i < 100; i++) {
        await runAndKill({ kind: 'file', file }, Math.floor(rand() * 40));
        const text = fs.readFileSync(file, 'utf8');
        assert.ok(isWholeVersion(text), `kill ${i}: a torn file (${text.length} characters)`);
        whole++;
      }
      assert.equal(whole, 100);
      await removeStaleTemps(file);
      assert.deepEqual(fs.readdirSync(root).filter((f) => f.endsWith('.tmp')), [], 'temporary files of killed writers are cleared');
    });

    it('the summary cache: 60 kills, the next start always loads a whole file and keeps growing', async () => {
      const file = path.join(root, 'summaries', 'cache.json');
      let previous = 0;
      for (let i = 0; i < 60; i++) {
        await runAndKill({ kind: 'cache', file }, Math.floor(rand() * 60));
        const cache = new SummaryCache(file);
        await cache.load();
        assert.equal(cache.loadProblem, undefined, `kill ${i}: the file left behind was not whole`);
        assert.ok(cache.size >= previous, `kill ${i}: ${cache.size} entries after ${previous}`);
        previous = cache.size;
      }
      assert.ok(previous > 60, `entries were written between kills (${previous})`);
      assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp')), [], 'a start clears the temporary files of killed writers');
    });

    it('Hub downloads: 40 kills mid-transfer, never a torn model file, and the resumed download is verified whole', async () => {
      const mirror = await HubMirror.start({ [ID]: fixtureModel('tiny-bert') });
      try {
        mirror.faults.set(`${ID}/onnx/model.onnx`, { kind: 'slow', chunkBytes: 4096, delayMs: 2 });
        const cache = path.join(root, 'models');
        const source = fs.readFileSync(path.join(fixtureModel('tiny-bert'), 'onnx', 'model.onnx'));
        const target = path.join(cache, 'hub', 'test--tiny-bert', 'main', 'onnx', 'model.onnx');
        let finished = 0;
        for (let i = 0; i < 40; i++) {
          if (await runAndKill({ kind: 'download', cache, host: mirror.url }, Math.floor(rand() * 80))) {
            finished++;
            fs.rmSync(cache, { recursive: true, force: true });
            continue;
          }
          if (fs.existsSync(target)) assert.ok(fs.readFileSync(target).equals(source), `kill ${i}: a torn model.onnx`);
        }
        assert.ok(finished < 40, 'some kills landed mid-transfer');
        mirror.faults.clear();
        const dir = await new HubDownloader({ cacheDir: cache, host: mirror.url, allowDownloads: true }).ensure(ID, 'main', 'fp32');
        assert.ok(fs.readFileSync(path.join(dir, 'onnx', 'model.onnx')).equals(source));
        assert.ok(mirror.ranges.length > 0, 'parts left by killed downloads were resumed');
      } finally {
        await mirror.stop();
      }
    });
  });
}
