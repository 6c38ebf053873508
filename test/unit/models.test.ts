import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HubDownloader, ModelDownloadError, RESUME_MIN_BYTES } from '../../src/core/models/hubDownloader';
import { deleteCachedModel, formatBytes, isModelDownloaded, LAST_USED_FILE, listCachedModels, markModelUsed } from '../../src/core/models/modelCache';
import { HubMirror } from '../harness/hubMirror';
import { cliScript, fixtureModel } from '../harness/paths';

const TINY = 'test/tiny-bert';
const BIG = 'test/big-model';
const source = fixtureModel('tiny-bert');
const ONNX = 'onnx/model.onnx';

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

/** A model folder like tiny-bert whose onnx/model.onnx is `size` random bytes (downloads never look inside). */
function bigModel(size: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-big-model-'));
  fs.cpSync(source, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, ONNX), randomBytes(size));
  return dir;
}

function sameBytes(a: string, b: string): boolean {
  return fs.readFileSync(a).equals(fs.readFileSync(b));
}

async function waitFor<T>(fn: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `bert-lens embed` as a separate process, as a second VS Code window would download. */
function cli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [cliScript, ...args], { env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, done };
}

describe('model cache: listing, last use, deletion', function () {
  this.timeout(20_000);
  let mirror: HubMirror;
  let cache: string;

  beforeEach(async () => {
    mirror = await HubMirror.start({ [TINY]: source, 'other/model': source });
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-cache-'));
  });
  afterEach(async () => {
    await mirror.stop();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it('lists downloaded models with sizes, ONNX files and last use, most recently used first', async () => {
    const downloader = new HubDownloader({ cacheDir: cache, host: mirror.url, allowDownloads: true });
    const a = await downloader.ensure(TINY, 'main', 'fp32');
    const b = await downloader.ensure('other/model', 'v2', 'q8');
    await markModelUsed(a, Date.now() - 60_000);
    await markModelUsed(b);
    fs.writeFileSync(path.join(a, 'onnx', 'model_quantized.onnx.4242.part'), Buffer.alloc(1000));

    const models = await listCachedModels(cache);
    assert.deepEqual(models.map((m) => m.ref), ['other/model@v2', TINY]);
    const tiny = models[1]!;
    assert.equal(tiny.id, TINY);
    assert.equal(tiny.revision, 'main');
    assert.equal(tiny.dir, a);
    assert.deepEqual(tiny.onnxFiles, [ONNX]);
    assert.ok(tiny.complete);
    assert.equal(tiny.partialBytes, 1000);
    const onDisk = filesUnder(a).reduce((s, f) => s + fs.statSync(path.join(a, f)).size, 0);
    assert.equal(tiny.bytes, onDisk);
    assert.ok(tiny.lastUsed! < models[0]!.lastUsed!);
    assert.deepEqual(models[0]!.onnxFiles, ['onnx/model_quantized.onnx']);
    assert.ok(isModelDownloaded(cache, TINY, 'main'));
    assert.ok(!isModelDownloaded(cache, TINY, 'v9'));
    assert.ok(filesUnder(a).includes(LAST_USED_FILE));
  });

  it('deletes one revision atomically, frees its bytes, and leaves the others', async () => {
    const downloader = new HubDownloader({ cacheDir: cache, host: mirror.url, allowDownloads: true });
    await downloader.ensure(TINY, 'main', 'fp32');
    await downloader.ensure(TINY, 'v2', 'fp32');
    await downloader.ensure('other/model', 'main', 'fp32');
    const [first] = (await listCachedModels(cache)).filter((m) => m.ref === TINY);
    assert.equal(await deleteCachedModel(first!), first!.bytes);
    assert.deepEqual((await listCachedModels(cache)).map((m) => m.ref).sort(), ['other/model', `${TINY}@v2`]);
    assert.ok(!downloader.isCached(TINY, 'main', 'fp32'));

    const v2 = (await listCachedModels(cache)).find((m) => m.revision === 'v2')!;
    await deleteCachedModel(v2);
    assert.ok(!fs.existsSync(path.dirname(v2.dir)), 'an emptied model folder goes too');
    assert.deepEqual(fs.readdirSync(path.join(cache, 'hub')), ['other--model'], 'no trash left behind');
    await assert.rejects(deleteCachedModel({ dir: cache }), /not a downloaded model folder/);
  });

  it('formats sizes in decimal units', () => {
    assert.deepEqual([formatBytes(999), formatBytes(812_000), formatBytes(34_500_000), formatBytes(1_234_000_000)], ['999 B', '812 kB', '34.5 MB', '1.2 GB']);
  });
});

describe('downloads: resume after interruption, several processes at once', function () {
  this.timeout(60_000);
  const size = 3 * RESUME_MIN_BYTES;
  let mirror: HubMirror;
  let cache: string;
  let big: string;
  const downloader = (): HubDownloader => new HubDownloader({ cacheDir: cache, host: mirror.url, allowDownloads: true });

  beforeEach(async () => {
    big = bigModel(size);
    mirror = await HubMirror.start({ [BIG]: big, [TINY]: source });
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-cache-'));
  });
  afterEach(async () => {
    await mirror.stop();
    fs.rmSync(cache, { recursive: true, force: true });
    fs.rmSync(big, { recursive: true, force: true });
  });

  it('keeps a large interrupted part and resumes it with a Range request', async () => {
    const cut = Math.floor(1.5 * RESUME_MIN_BYTES);
    mirror.faults.set(`${BIG}/${ONNX}`, { kind: 'interrupt', afterBytes: cut });
    await assert.rejects(downloader().ensure(BIG, 'main', 'fp32'), (e: unknown) => {
      assert.ok(e instanceof ModelDownloadError && e.kind === 'interrupted', String(e));
      assert.match(e.message, /MB received are kept; the next try resumes/);
      return true;
    });
    const dir = downloader().modelDir(BIG, 'main');
    const part = filesUnder(dir).find((f) => f.endsWith('.part'));
    assert.equal(part, `${ONNX}.${process.pid}.part`);
    const kept = fs.statSync(path.join(dir, part)).size;
    assert.ok(kept >= RESUME_MIN_BYTES && kept <= cut, `${kept} bytes kept`);
    assert.ok(!fs.existsSync(path.join(dir, ONNX)), 'nothing under the real name');

    mirror.faults.clear();
    await downloader().ensure(BIG, 'main', 'fp32');
    assert.deepEqual(mirror.ranges, [{ path: `/${BIG}/resolve/main/${ONNX}`, start: kept }]);
    assert.ok(sameBytes(path.join(dir, ONNX), path.join(big, ONNX)));
    assert.deepEqual(filesUnder(dir).filter((f) => /\.(part|etag)$/.test(f)), []);
  });

  it('starts again when the file changed upstream since the part was kept (If-Range)', async () => {
    mirror.faults.set(`${BIG}/${ONNX}`, { kind: 'interrupt', afterBytes: 2 * RESUME_MIN_BYTES });
    await assert.rejects(downloader().ensure(BIG, 'main', 'fp32'));
    mirror.faults.clear();
    fs.writeFileSync(path.join(big, ONNX), randomBytes(size + 7));
    const dir = await downloader().ensure(BIG, 'main', 'fp32');
    assert.deepEqual(mirror.ranges, [], 'the server sent the whole new file');
    assert.ok(sameBytes(path.join(dir, ONNX), path.join(big, ONNX)));
  });

  it('starts again, cleanly, from a server that ignores Range', async () => {
    mirror.faults.set(`${BIG}/${ONNX}`, { kind: 'interrupt', afterBytes: 2 * RESUME_MIN_BYTES });
    await assert.rejects(downloader().ensure(BIG, 'main', 'fp32'));
    mirror.faults.clear();
    mirror.rangeSupport = false;
    const dir = await downloader().ensure(BIG, 'main', 'fp32');
    assert.ok(sameBytes(path.join(dir, ONNX), path.join(big, ONNX)));
    assert.deepEqual(filesUnder(dir).filter((f) => /\.(part|etag)$/.test(f)), []);
  });

  it('fetches a file once when two downloads in one process ask for it together', async () => {
    const [a, b] = await Promise.all([downloader().ensure(BIG, 'main', 'fp32'), downloader().ensure(BIG, 'main', 'fp32')]);
    assert.equal(a, b);
    assert.equal(mirror.requests.filter((r) => r.endsWith(ONNX)).length, 1);
    assert.ok(sameBytes(path.join(a, ONNX), path.join(big, ONNX)));
  });

  it('two processes downloading the same model at once both succeed and leave it intact', async () => {
    mirror.faults.set(`${TINY}/${ONNX}`, { kind: 'slow', chunkBytes: 8192, delayMs: 25 });
    const args = ['embed', 'two windows', '--model', TINY, '--mirror', mirror.url, '--cache-dir', cache, '--json'];
    const results = await Promise.all([cli(args).done, cli(args).done]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.equal(mirror.requests.filter((r) => r.endsWith(ONNX)).length, 2, 'both processes were downloading at the same time');
    const dir = new HubDownloader({ cacheDir: path.join(cache, 'models'), allowDownloads: false }).modelDir(TINY, 'main');
    for (const f of ['config.json', 'tokenizer.json', ONNX]) assert.ok(sameBytes(path.join(dir, f), path.join(source, f)), f);
    assert.deepEqual(filesUnder(dir).filter((f) => /\.(part|etag)$/.test(f)), []);
  });

  it('resumes the part a killed process left behind', async () => {
    mirror.faults.set(`${BIG}/${ONNX}`, { kind: 'slow', chunkBytes: 65536, delayMs: 15 });
    const { child, done } = cli(['embed', 'x', '--model', BIG, '--mirror', mirror.url, '--cache-dir', cache]);
    const dir = new HubDownloader({ cacheDir: path.join(cache, 'models'), allowDownloads: false }).modelDir(BIG, 'main');
    const partPath = path.join(dir, `${ONNX}.${child.pid}.part`);
    await waitFor(() => fs.existsSync(partPath) && fs.statSync(partPath).size >= RESUME_MIN_BYTES + 65536, 'the other process to download 1 MB');
    child.kill('SIGKILL');
    await done;
    const kept = fs.statSync(partPath).size;
    assert.ok(kept < size, 'killed before the end');

    mirror.faults.clear();
    const resumed = new HubDownloader({ cacheDir: path.join(cache, 'models'), host: mirror.url, allowDownloads: true });
    await resumed.ensure(BIG, 'main', 'fp32');
    assert.deepEqual(mirror.ranges, [{ path: `/${BIG}/resolve/main/${ONNX}`, start: kept }]);
    assert.ok(sameBytes(path.join(dir, ONNX), path.join(big, ONNX)));
    assert.deepEqual(filesUnder(dir).filter((f) => /\.(part|etag)$/.test(f)), []);
  });
});
