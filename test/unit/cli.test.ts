import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliScript, fixtureModel, repoRoot } from '../harness/paths';
import { loadReference, maxAbsDiff } from '../harness/reference';

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-cli-home-'));
  const r = spawnSync(process.execPath, [cliScript, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HOME: home, BERT_LENS_CACHE: path.join(home, 'cache') },
    maxBuffer: 64 * 2 ** 20,
  });
  fs.rmSync(home, { recursive: true, force: true });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface AttentionJson {
  model: string;
  tokens: { text: string; start: number; end: number }[];
  layers: number;
  heads: number;
  truncated: boolean;
  attentions: number[][][][];
}

describe('bert-lens CLI', function () {
  this.timeout(60_000);
  const wide = fixtureModel('tiny-bert-wide');
  const reference = loadReference('tiny-bert-wide');

  it('attention --json matches PyTorch within 1e-4 on a model folder with other sizes and vocabulary', () => {
    for (const item of reference.items.filter((i) => !i.truncated)) {
      const r = cli('attention', item.text, '--model', wide, '--json');
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as AttentionJson;
      assert.equal(out.layers, 3);
      assert.equal(out.heads, 6);
      assert.deepEqual(out.tokens.map((t) => t.text), item.tokens);
      assert.ok(out.tokens.every((t) => t.start <= t.end && t.end <= item.text.length));
      assert.ok(maxAbsDiff(out.attentions.flat(3), item.attentions!.flat(3)) < 1e-4);
    }
  });

  it('attention runs on the q8 file and reports truncation', () => {
    const long = reference.items.find((i) => i.truncated)!;
    const r = cli('attention', long.text, '--model', wide, '--dtype', 'q8', '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as AttentionJson & { inputTokens: number; maxTokens: number };
    assert.equal(out.truncated, true);
    assert.equal(out.tokens.length, 40);
    assert.equal(out.inputTokens, long.untruncated_length);
    for (const row of out.attentions.flat(2)) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4);
  });

  it('embed --json prints mean-pooled normalised vectors in order', () => {
    const texts = reference.items.slice(0, 3).map((i) => i.text);
    const r = cli('embed', ...texts, '--model', wide, '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { model: string; dims: number; vectors: number[][] };
    assert.equal(out.dims, 48);
    assert.equal(out.vectors.length, 3);
    out.vectors.forEach((v, i) => assert.ok(maxAbsDiff(v, reference.items[i]!.embedding) < 1e-4));
  });

  it('prints a readable summary without --json', () => {
    const r = cli('attention', 'the cat sat', '--model', wide);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /3 layers × 6 heads/);
    assert.match(r.stdout, /sat +\[8,11\)/);
  });

  it('runs the bundled encoder with the network unplugged (unshare -n)', function () {
    const probe = spawnSync('unshare', ['-n', 'true']);
    if (probe.status !== 0) this.skip(); // needs CAP_SYS_ADMIN (root); CI runs as root
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-cli-home-'));
    const run = (...args: string[]) =>
      spawnSync('unshare', ['-n', process.execPath, cliScript, ...args], { encoding: 'utf8', env: { ...process.env, HOME: home }, maxBuffer: 64 * 2 ** 20 });
    const embed = run('embed', 'The cat sat on the mat.', 'A kitten rested on the rug.', 'Stock prices fell sharply today.', '--model', 'bundled:use-lite', '--json');
    assert.equal(embed.status, 0, embed.stderr);
    const { dims, vectors } = JSON.parse(embed.stdout) as { dims: number; vectors: number[][] };
    assert.equal(dims, 512);
    const cos = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
    assert.ok(cos(vectors[0]!, vectors[1]!) > cos(vectors[0]!, vectors[2]!) + 0.3, 'a paraphrase is closer than an unrelated sentence');
    const attention = run('attention', 'The cat sat on the mat.', '--model', 'bundled:use-lite', '--json');
    assert.equal(attention.status, 0, attention.stderr);
    const maps = JSON.parse(attention.stdout) as AttentionJson;
    assert.deepEqual([maps.layers, maps.heads], [2, 4]);
    // Tokens map back onto the text: together they spell it, spaces aside.
    assert.equal(maps.tokens.map((t) => 'The cat sat on the mat.'.slice(t.start, t.end)).join(''), 'Thecatsatonthemat.');
    for (const row of maps.attentions.flat(2)) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    // Without --model and with no way to download the default, the CLI says so and uses the bundled encoder.
    const fallback = run('embed', 'hello', '--json');
    assert.equal(fallback.status, 0, fallback.stderr);
    assert.match(fallback.stderr, /Could not reach .*\n.*using the bundled Universal Sentence Encoder lite/);
    assert.equal((JSON.parse(fallback.stdout) as { model: string }).model, 'bundled:use-lite');
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('reports errors on stderr with a non-zero exit code', () => {
    const missing = cli('attention', 'x', '--model', '/nonexistent/model');
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /No model found at \/nonexistent\/model/);

    const fused = cli('attention', 'the cat', '--model', fixtureModel('fused-attention'));
    assert.equal(fused.status, 1);
    assert.match(fused.stderr, /does not expose attention/);

    const offline = cli('embed', 'x', '--model', 'Xenova/all-MiniLM-L6-v2', '--offline');
    assert.equal(offline.status, 1);
    assert.match(offline.stderr, /not downloaded .*downloads are turned off/);

    const usage = cli('attention', '--model', wide);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /exactly one text/);
    assert.equal(usage.stderr.trimEnd().split('\n').length, 1, usage.stderr);
  });

  it('--help lists every subcommand and each subcommand has its own --help', () => {
    const help = cli('--help');
    assert.equal(help.status, 0, help.stderr);
    const commands = ['attention', 'embed', 'summarize', 'index', 'search'];
    for (const c of commands) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'), `${c} in the usage`);
    assert.match(help.stdout, /Exit codes: 0 .*1 .*2 usage error.*130 cancelled/);
    for (const c of commands) {
      const r = cli(c, '--help');
      assert.equal(r.status, 0, `${c} --help: ${r.stderr}`);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, new RegExp(`^Usage: bert-lens ${c} `));
    }
    assert.match(cli('search', '-h').stdout, /--queries <file\|->/);
    assert.match(cli('summarize', '--help').stdout, /--sentences <N>/);
    assert.doesNotMatch(cli('summarize', '--help').stdout, /--queries/);
    const bare = cli();
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /^ {2}summarize /m);
  });

  it('--version prints the version in package.json', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const args of [['--version'], ['-v'], ['search', '--version']]) {
      const r = cli(...args);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `bert-lens ${version}\n`);
    }
  });

  it('usage errors exit 2 with one line that names the fix, suggesting the closest flag or command', () => {
    for (const [args, message] of [
      [['summarize', 'x.txt', '--modle', 'y'], /^bert-lens: unknown option --modle \(did you mean --model\?\); run bert-lens summarize --help/],
      [['search', 'q', '--dri', '.'], /unknown option --dri \(did you mean --dir\?\)/],
      [['serach', 'q'], /unknown command "serach" \(did you mean "search"\?\); run bert-lens --help/],
      [['summarize', 'x.txt', '--dir', '.'], /--dir does not apply to summarize/],
      [['attention', 'x', '--model'], /--model needs a value: --model <ref>/],
      [['embed', 'x', '--json=yes'], /--json takes no value/],
      [['attention', 'x', '--dtype', 'fp16'], /--dtype must be fp32 or q8, not "fp16"/],
      [['embed', 'x', '--zzzzzz'], /^bert-lens: unknown option --zzzzzz; run bert-lens embed --help/],
    ] as const) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /ERR_PARSE_ARGS|TypeError|at .*\.js:\d+/);
    }
  });
});
