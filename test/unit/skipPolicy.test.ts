import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// @ts-expect-error plain JavaScript module of the test runner, bundled by esbuild
import { judgeSkip, readAllowedSkips } from '../../scripts/skipPolicy.mjs';
import { repoRoot } from '../harness/paths';

type Verdict = { fails: boolean; line: string };
const judge = judgeSkip as (allowed: Map<string, string>, tier: string, title: string) => Verdict;
const read = readAllowedSkips as (root: string) => Map<string, string>;

describe('test runner: skipped tests are counted and must be allowed (issue 14 item 15)', () => {
  it('a skip fails unless the allow-list names its full title with a reason', () => {
    const allowed = read(repoRoot);
    assert.ok(allowed.size >= 1);
    for (const [title, reason] of allowed) assert.ok(reason.length > 20, `${title}: a reason in words`);
    const ok = judge(allowed, 'unit', 'bert-lens CLI runs the bundled encoder with the network unplugged (unshare -n)');
    assert.equal(ok.fails, false);
    assert.match(ok.line, /allowed: unshare -n needs CAP_SYS_ADMIN/);
    const bad = judge(allowed, 'browser', 'packaged extension finds a passage by meaning');
    assert.equal(bad.fails, true);
    assert.match(bad.line, /skipped without an allowed reason/);
  });

  it('refuses an allow-list entry without a reason', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-skips-'));
    try {
      fs.mkdirSync(path.join(root, 'test'));
      fs.writeFileSync(path.join(root, 'test', 'allowed-skips.json'), JSON.stringify([{ test: 'x', reason: ' ' }]));
      assert.throws(() => read(root), /needs "test" and a "reason"/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
