import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HubDownloader, hubModelDir, ModelDownloadError, type DownloadProgress } from '../../src/core/models/hubDownloader';
import { parseModelRef } from '../../src/core/models/modelRef';
import { bypassesProxy, proxyFromEnvironment } from '../../src/core/models/proxy';
import { HubMirror } from '../harness/hubMirror';
import { ProxyServer } from '../harness/proxyServer';
import { fixtureModel } from '../harness/paths';

const ID = 'test/tiny-bert';
const source = fixtureModel('tiny-bert');

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

function expectDownloadError(kind: ModelDownloadError['kind'], message: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof ModelDownloadError, `expected ModelDownloadError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    assert.match(e.message, message);
    return true;
  };
}

describe('Hub downloads (local mirror)', function () {
  this.timeout(20_000);
  let mirror: HubMirror;
  let cache: string;
  const downloader = (allowDownloads = true): HubDownloader => new HubDownloader({ cacheDir: cache, host: mirror.url, allowDownloads });

  beforeEach(async () => {
    mirror = await HubMirror.start({ [ID]: source });
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-cache-'));
  });
  afterEach(async () => {
    await mirror.stop();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it('downloads the files a model needs, reports progress, then works from the cache with the server gone', async () => {
    const events: DownloadProgress[] = [];
    const dir = await downloader().ensure(ID, 'main', 'fp32', { onProgress: (p) => events.push(p) });
    assert.deepEqual(listFiles(dir), ['config.json', 'onnx/model.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    for (const f of listFiles(dir)) assert.deepEqual(fs.readFileSync(path.join(dir, f)), fs.readFileSync(path.join(source, f)), f);
    assert.ok(mirror.requests.every((r) => r.startsWith(`/${ID}/resolve/main/`)), mirror.requests.join());

    const onnx = events.filter((e) => e.file === 'onnx/model.onnx');
    assert.ok(onnx.length >= 2, 'progress starts at 0 and reaches the end');
    assert.equal(onnx[0]!.fileLoaded, 0);
    assert.equal(onnx.at(-1)!.fileLoaded, fs.statSync(path.join(source, 'onnx/model.onnx')).size);
    assert.equal(onnx.at(-1)!.fileTotal, onnx.at(-1)!.fileLoaded);
    for (let i = 1; i < onnx.length; i++) assert.ok(onnx[i]!.fileLoaded >= onnx[i - 1]!.fileLoaded);
    assert.ok(events.every((e) => e.filesTotal === 5));

    await mirror.stop();
    const before = mirror.requests.length;
    assert.equal(await downloader().ensure(ID, 'main', 'fp32'), dir);
    assert.equal(await downloader(false).ensure(ID, 'main', 'fp32'), dir);
    assert.equal(mirror.requests.length, before, 'no request once cached');
    mirror = await HubMirror.start({});
  });

  it('fetches only the missing file when another dtype is asked for later', async () => {
    await downloader().ensure(ID, 'main', 'fp32');
    mirror.requests.length = 0;
    await downloader().ensure(ID, 'main', 'q8');
    assert.deepEqual(mirror.requests, [`/${ID}/resolve/main/onnx/model_quantized.onnx`]);
  });

  it('says "not found" for an unknown model and for a repository without ONNX weights', async () => {
    await assert.rejects(downloader().ensure('nobody/nothing', 'main', 'fp32'), expectDownloadError('notFound', /nobody\/nothing was not found .*HTTP 404/));
    const noOnnx = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-no-onnx-'));
    fs.copyFileSync(path.join(source, 'config.json'), path.join(noOnnx, 'config.json'));
    fs.copyFileSync(path.join(source, 'tokenizer.json'), path.join(noOnnx, 'tokenizer.json'));
    await mirror.stop();
    mirror = await HubMirror.start({ 'test/pytorch-only': noOnnx });
    await assert.rejects(downloader().ensure('test/pytorch-only', 'main', 'fp32'), expectDownloadError('notFound', /has no onnx\/model\.onnx/));
    fs.rmSync(noOnnx, { recursive: true });
  });

  it('verifies LFS files against the SHA-256 and size the Hub announces on its CDN redirect (issue 14 item 7)', async () => {
    mirror.lfsRedirects = true;
    const dir = await downloader().ensure(ID, 'main', 'fp32');
    assert.deepEqual(fs.readFileSync(path.join(dir, 'onnx/model.onnx')), fs.readFileSync(path.join(source, 'onnx/model.onnx')));
    assert.ok(mirror.requests.includes(`/cdn/${ID}/resolve/main/onnx/model.onnx`), 'followed the redirect to the CDN');
    fs.rmSync(cache, { recursive: true, force: true });

    // A changed byte: refused, nothing kept, not even a part to resume.
    mirror.faults.set(`${ID}/onnx/model.onnx`, { kind: 'corrupt' });
    await assert.rejects(downloader().ensure(ID, 'main', 'fp32'), expectDownloadError('corrupt', /does not match the SHA-256 the Hub announced/));
    assert.deepEqual(listFiles(cache).filter((f) => f.includes('model.onnx')), [], 'no model.onnx and no .part file');
    // More bytes than announced: refused.
    mirror.lfsRedirects = false;
    mirror.faults.set(`${ID}/onnx/model.onnx`, { kind: 'oversize' });
    await assert.rejects(downloader().ensure(ID, 'main', 'fp32'), expectDownloadError('corrupt', /announced/));
    assert.deepEqual(listFiles(cache).filter((f) => f.includes('model.onnx')), []);
    mirror.faults.clear();
    assert.ok(fs.readFileSync(path.join(await downloader().ensure(ID, 'main', 'fp32'), 'onnx/model.onnx')).equals(fs.readFileSync(path.join(source, 'onnx/model.onnx'))));
  });

  it('reports a server error with its status and keeps nothing partial', async () => {
    mirror.faults.set(`${ID}/onnx/model.onnx`, { kind: 'serverError', status: 503 });
    await assert.rejects(downloader().ensure(ID, 'main', 'fp32'), expectDownloadError('server', /HTTP 503/));
    assert.ok(!listFiles(cache).some((f) => f.endsWith('model.onnx') || f.includes('.part')));
  });

  it('never leaves a half-written file after an interrupted transfer, and a retry completes', async () => {
    mirror.faults.set(`${ID}/onnx/model.onnx`, { kind: 'interrupt', afterBytes: 50_000 });
    await assert.rejects(downloader().ensure(ID, 'main', 'fp32'), expectDownloadError('interrupted', /interrupted|stopped at/));
    assert.ok(!downloader().isCached(ID, 'main', 'fp32'));
    assert.deepEqual(listFiles(cache).filter((f) => f.includes('model.onnx')), [], 'no partial model.onnx and no .part file');
    assert.throws(() => fs.statSync(path.join(downloader().modelDir(ID, 'main'), 'onnx/model.onnx')));
    await assert.rejects(downloader(false).ensure(ID, 'main', 'fp32'), expectDownloadError('offline', /not downloaded.*downloads are turned off/));

    mirror.faults.clear();
    const dir = await downloader().ensure(ID, 'main', 'fp32');
    assert.deepEqual(fs.readFileSync(path.join(dir, 'onnx/model.onnx')), fs.readFileSync(path.join(source, 'onnx/model.onnx')));
  });

  it('stops promptly when cancelled and keeps nothing partial', async () => {
    mirror.faults.set(`${ID}/onnx/model.onnx`, { kind: 'slow', chunkBytes: 4096, delayMs: 50 });
    const controller = new AbortController();
    const started = Date.now();
    const pending = downloader().ensure(ID, 'main', 'fp32', {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.file === 'onnx/model.onnx' && p.fileLoaded > 10_000) controller.abort();
      },
    });
    await assert.rejects(pending, expectDownloadError('cancelled', /cancelled/));
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(listFiles(cache).filter((f) => f.includes('model.onnx')), []);
  });

  it('lets two downloads of the same model race without corrupting it', async () => {
    const [a, b] = await Promise.all([downloader().ensure(ID, 'main', 'fp32'), downloader().ensure(ID, 'main', 'fp32')]);
    assert.equal(a, b);
    assert.deepEqual(fs.readFileSync(path.join(a, 'onnx/model.onnx')), fs.readFileSync(path.join(source, 'onnx/model.onnx')));
    assert.ok(!listFiles(cache).some((f) => f.includes('.part')));
  });

  it('downloads through an HTTP proxy, and straight to hosts in its no-proxy list', async () => {
    const proxy = await ProxyServer.start();
    try {
      const through = new HubDownloader({ cacheDir: cache, host: mirror.url, allowDownloads: true, proxy: { url: proxy.url, noProxy: [] } });
      const dir = await through.ensure(ID, 'main', 'fp32');
      assert.deepEqual(fs.readFileSync(path.join(dir, 'onnx/model.onnx')), fs.readFileSync(path.join(source, 'onnx/model.onnx')));
      assert.ok(proxy.passed(mirror.url, `/${ID}/resolve/main/onnx/model.onnx`), `the proxy saw: ${proxy.seen.join(', ')}`);

      proxy.seen.length = 0;
      const direct = new HubDownloader({ cacheDir: cache, host: mirror.url, allowDownloads: true, proxy: { url: proxy.url, noProxy: ['127.0.0.1'] } });
      await direct.ensure(ID, 'main', 'q8');
      assert.deepEqual(proxy.seen, [], 'no-proxy hosts are reached directly');
      assert.ok(mirror.requests.includes(`/${ID}/resolve/main/onnx/model_quantized.onnx`));
    } finally {
      await proxy.stop();
    }
  });

  it('reads the proxy from the environment like curl and npm do', () => {
    assert.equal(proxyFromEnvironment({}), undefined);
    assert.deepEqual(proxyFromEnvironment({ HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'localhost, .corp.example ,10.0.0.1' }), {
      url: 'http://p:3128',
      noProxy: ['localhost', '.corp.example', '10.0.0.1'],
    });
    assert.equal(proxyFromEnvironment({ http_proxy: 'http://q:8080' })?.url, 'http://q:8080');
    assert.ok(bypassesProxy('huggingface.co', ['*']));
    assert.ok(bypassesProxy('cdn.corp.example', ['.corp.example']));
    assert.ok(bypassesProxy('corp.example', ['corp.example']));
    assert.ok(!bypassesProxy('huggingface.co', ['face.co', 'localhost']));
  });

  it('reports an unreachable host as a network problem', async () => {
    await mirror.stop();
    const url = mirror.url;
    mirror = await HubMirror.start({});
    const offline = new HubDownloader({ cacheDir: cache, host: url, allowDownloads: true });
    await assert.rejects(offline.ensure(ID, 'main', 'fp32'), expectDownloadError('network', /Could not reach/));
  });
});

describe('model references', () => {
  it('tells Hub ids from folders', () => {
    assert.deepEqual(parseModelRef('Xenova/all-MiniLM-L6-v2'), { kind: 'hub', id: 'Xenova/all-MiniLM-L6-v2', revision: 'main' });
    assert.deepEqual(parseModelRef('Xenova/bert@v1.0'), { kind: 'hub', id: 'Xenova/bert', revision: 'v1.0' });
    assert.deepEqual(parseModelRef('./models/bert', '/ws'), { kind: 'folder', path: '/ws/models/bert' });
    assert.deepEqual(parseModelRef('/abs/bert'), { kind: 'folder', path: '/abs/bert' });
    assert.deepEqual(parseModelRef('file:///abs/bert'), { kind: 'folder', path: '/abs/bert' });
    assert.throws(() => parseModelRef('not a model'), /neither a Hub model id/);
    assert.throws(() => parseModelRef('a/b/c'), /neither/);
    assert.throws(() => parseModelRef(''), /No model given/);
  });

  it('refuses revisions and ids that would name a folder outside the cache (issue 14 item 5)', () => {
    for (const bad of ['Xenova/foo@..', 'Xenova/foo@.', 'Xenova/foo@../../etc', 'Xenova/foo@/etc', 'Xenova/foo@%2e%2e', 'Xenova/foo@a..b', 'Xenova/foo@.hidden', 'Xenova/foo@x.lock']) {
      assert.throws(() => parseModelRef(bad), /not a revision|neither/, bad);
    }
    assert.deepEqual(parseModelRef('Xenova/foo@0123456789abcdef0123456789abcdef01234567'), { kind: 'hub', id: 'Xenova/foo', revision: '0123456789abcdef0123456789abcdef01234567' });
    const cache = path.join(os.tmpdir(), 'bert-lens-cache');
    assert.equal(hubModelDir(cache, 'Xenova/foo', 'v1.0'), path.join(cache, 'hub', 'Xenova--foo', 'v1.0'));
    for (const [id, revision] of [['Xenova/foo', '..'], ['Xenova/foo', '/etc'], ['Xenova/foo', '../../x'], ['../x', 'main'], ['Xenova/..', 'main'], ['/abs', 'main']] as const) {
      assert.throws(() => hubModelDir(cache, id, revision), /outside the cache/, `${id}@${revision}`);
    }
  });
});
