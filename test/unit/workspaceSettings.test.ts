import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readJsoncObject } from '../../src/vscode/models/jsonc';
import { repoRoot } from '../harness/paths';

/** What a hostile workspace can do to the settings BERT Lens reads itself (issue 14, items 3 and 6). */
describe('workspace settings: hostile files and scopes', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-settings-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads JSONC settings: comments, trailing commas, strings holding // and ,}', () => {
    const file = path.join(dir, 'ok.json');
    fs.writeFileSync(file, '{\n  // a comment\n  "bertLens.hubMirror": "http://x//y,}", /* block */\n  "n": [1, 2,],\n}\n');
    assert.deepEqual(readJsoncObject(file, 1024), { 'bertLens.hubMirror': 'http://x//y,}', n: [1, 2] });
  });

  it('never reads a link to /dev/zero, a FIFO, a folder or a file over the cap, and answers at once', () => {
    const zero = path.join(dir, 'zero.json');
    fs.symlinkSync('/dev/zero', zero);
    const fifo = path.join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    const big = path.join(dir, 'big.json');
    fs.writeFileSync(big, `{"a": "${'x'.repeat(2048)}"}`);
    const started = Date.now();
    const rssBefore = process.memoryUsage().rss;
    assert.equal(readJsoncObject(zero, 1024 * 1024), undefined);
    assert.equal(readJsoncObject(fifo, 1024 * 1024), undefined);
    assert.equal(readJsoncObject(dir, 1024 * 1024), undefined);
    assert.equal(readJsoncObject(big, 1024), undefined);
    assert.equal(readJsoncObject(path.join(dir, 'missing.json'), 1024), undefined);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'no unbounded allocation');
  });

  it('every setting declares a scope; a workspace cannot turn downloads back on or choose the mirror', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { scope?: string; maximum?: number }> }[] | { properties: Record<string, { scope?: string; maximum?: number }> } };
      capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
    };
    const sections = Array.isArray(manifest.contributes.configuration) ? manifest.contributes.configuration : [manifest.contributes.configuration];
    const properties = Object.assign({}, ...sections.map((s) => s.properties)) as Record<string, { scope?: string; maximum?: number }>;
    for (const [key, p] of Object.entries(properties)) assert.ok(p.scope, `${key} declares no scope`);
    for (const key of ['bertLens.allowDownloads', 'bertLens.hubMirror']) assert.ok(['application', 'machine'].includes(properties[key]!.scope!), `${key}: ${properties[key]!.scope}`);
    assert.equal(properties['bertLens.search.maxFileSize']!.maximum, 16 * 1024 * 1024);
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    for (const key of ['bertLens.model', 'bertLens.summary.model', 'bertLens.summary.hoverModel', 'bertLens.hubMirror', 'bertLens.summary.mode', 'bertLens.hover.mode']) {
      assert.ok(restricted.includes(key), `${key} is not restricted`);
    }
  });
});
