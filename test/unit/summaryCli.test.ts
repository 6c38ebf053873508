import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliScript, fixtureModel } from '../harness/paths';
import { HOVER_SOURCE, seq2seqReference, threeTopicDocument } from '../harness/summaryFixtures';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface AbstractiveJson {
  model: string;
  mode: 'abstractive';
  text: string;
  ids: number[];
  stoppedBy: string;
  truncated: boolean;
  parts: number;
}

interface ExtractiveJson {
  model: string;
  mode: 'extractive';
  text: string;
  sentences: { text: string; start: number; end: number; rank: number; startPosition: { line: number; character: number } }[];
  totalSentences: number;
  source: string;
}

describe('bert-lens summarize (CLI)', function () {
  this.timeout(60_000);
  let dir: string;
  const cli = (args: string[], input?: string): Run => {
    const r = spawnSync(process.execPath, [cliScript, ...args], {
      encoding: 'utf8',
      input,
      env: { ...process.env, HOME: dir, BERT_LENS_CACHE: path.join(dir, 'cache') },
      maxBuffer: 16 * 2 ** 20,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const file = (name: string, text: string): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-summarize-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const name of ['tiny-t5', 'tiny-bart'] as const) {
    it(`${name}: abstractive --json gives PyTorch's greedy ids and text for every reference input`, () => {
      const reference = seq2seqReference(name);
      reference.items.forEach((item, i) => {
        const r = cli(['summarize', file(`${name}-${i}.txt`, item.text), '--model', fixtureModel(name), '--max-tokens', String(reference.generation.max_new_tokens), '--json']);
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout) as AbstractiveJson;
        assert.equal(out.mode, 'abstractive');
        assert.deepEqual(out.ids, item.greedy.sequence, `item ${i}`);
        assert.equal(out.text, item.greedy.text.trim());
        assert.equal(out.stoppedBy === 'eos' ? 'eos' : 'max_length', item.greedy.stopped_by);
        assert.equal(out.parts, 1);
      });
    });
  }

  it('reads standard input and streams the text, with a line about the model on stderr', () => {
    const item = seq2seqReference('tiny-t5').items[1]!;
    const r = cli(['summarize', '-', '--model', fixtureModel('tiny-t5'), '--max-tokens', '12'], item.text);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${item.greedy.text.trim()}\n`);
    assert.match(r.stderr, /tiny-t5, abstractive, 1[12] tokens\)/);
  });

  it('summarises a long input in parts and reports them', () => {
    const item = seq2seqReference('tiny-t5').items[2]!;
    const long = Array.from({ length: 14 }, (_, k) => `## Part ${k + 1}\n\n${item.text}`).join('\n\n');
    const r = cli(['summarize', file('long.md', long), '--model', fixtureModel('tiny-t5'), '--max-tokens', '6', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as AbstractiveJson;
    assert.ok(out.parts > 1, `${out.parts} parts`);
    assert.ok(out.ids.length <= 7);
  });

  it('extractive with the bundled encoder: three sentences of a three-topic document cover all three, with ranges into the file', () => {
    const { text, topicOf } = threeTopicDocument();
    const r = cli(['summarize', file('topics.md', text), '--mode', 'extractive', '--model', 'bundled:use-lite', '--sentences', '3', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as ExtractiveJson;
    assert.equal(out.model, 'bundled:use-lite');
    assert.equal(out.sentences.length, 3);
    assert.equal(out.totalSentences, 12);
    assert.deepEqual(new Set(out.sentences.map((s) => topicOf(s.start))), new Set(['gardening', 'spaceflight', 'banking']), out.text);
    const lines = text.split('\n');
    for (const s of out.sentences) {
      assert.equal(text.slice(s.start, s.end), s.text);
      assert.equal(lines[s.startPosition.line]!.slice(s.startPosition.character, s.startPosition.character + s.text.length), s.text);
    }
    assert.deepEqual(out.sentences.map((s) => s.start), [...out.sentences.map((s) => s.start)].sort((a, b) => a - b));
  });

  it('extractive on code reads its comments, and without --mode a non-seq2seq folder is summarised extractively', () => {
    const source = file('upload.ts', HOVER_SOURCE);
    const r = cli(['summarize', source, '--model', 'bundled:use-lite', '--sentences', '1', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as ExtractiveJson;
    assert.equal(out.mode, 'extractive');
    assert.equal(out.source, 'comments');
    assert.match(out.text, /^Sends a file to the storage service, retrying transient failures/);
    assert.equal(HOVER_SOURCE.slice(out.sentences[0]!.start, out.sentences[0]!.end), out.sentences[0]!.text);
    const bert = cli(['summarize', source, '--model', fixtureModel('tiny-bert'), '--json']);
    assert.equal(bert.status, 0, bert.stderr);
    assert.equal((JSON.parse(bert.stdout) as ExtractiveJson).mode, 'extractive');
  });

  it('with neither --model nor --mode and no way to download, falls back to extractive on the bundled encoder', () => {
    const { text } = threeTopicDocument();
    const r = cli(['summarize', file('offline.md', text), '--offline', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /distilbart-cnn-6-6 is not downloaded[^\n]*\n.*summarising extractively instead/);
    const out = JSON.parse(r.stdout) as ExtractiveJson;
    assert.equal(out.mode, 'extractive');
    assert.equal(out.model, 'bundled:use-lite');
  });

  it('explains bad arguments, missing files and models that cannot summarise', () => {
    const t = file('x.txt', 'Some text to summarise. It has two sentences.');
    const usage = cli(['summarize', t, '--mode', 'poetic']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--mode must be abstractive or extractive/);
    assert.equal(cli(['summarize', t, '--max-tokens', '0']).status, 2);
    assert.equal(cli(['summarize']).status, 2);

    const missing = cli(['summarize', path.join(dir, 'nope.txt'), '--model', 'bundled:use-lite']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read .*nope\.txt: no such file/);

    const noModel = cli(['summarize', t, '--mode', 'abstractive', '--model', path.join(dir, 'no-model')]);
    assert.equal(noModel.status, 1);
    assert.match(noModel.stderr, /No model found at .*no-model: a model folder needs config\.json, tokenizer\.json, onnx\/encoder_model\.onnx and onnx\/decoder_model_merged\.onnx/);

    const encoder = cli(['summarize', t, '--mode', 'abstractive', '--model', fixtureModel('tiny-bert')]);
    assert.equal(encoder.status, 1);
    assert.match(encoder.stderr, /not an encoder–decoder model/);
  });

  it('refuses binary files, folders and abstractive summaries from the bundled encoder, in one line each', () => {
    const image = path.join(dir, 'image.txt');
    fs.writeFileSync(image, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0xff, 0xd8]));
    const latin1 = path.join(dir, 'latin1.txt');
    fs.writeFileSync(latin1, Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e', 'latin1'));
    const t = file('plain.txt', 'Some text to summarise. It has two sentences.');
    for (const [args, status, message] of [
      [['summarize', image, '--model', 'bundled:use-lite'], 1, /^bert-lens: .*image\.txt is binary \(NUL byte at offset 8\), not text; summarize a text file$/],
      [['summarize', latin1, '--model', 'bundled:use-lite'], 1, /latin1\.txt is binary \(not valid UTF-8\)/],
      [['summarize', '-', '--model', 'bundled:use-lite'], 1, /standard input is binary/],
      [['summarize', dir, '--model', 'bundled:use-lite'], 1, /is a folder; summarize takes one file/],
      [['summarize', t, '--mode', 'abstractive', '--model', 'bundled:use-lite'], 2, /bundled Universal Sentence Encoder lite .*cannot write abstractive summaries; use --mode extractive with it, or a seq2seq model such as --model \S+/],
    ] as const) {
      const r = cli([...args], args.includes('-') ? 'text\0with a NUL' : undefined);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', 'no garbage on stdout');
      assert.match(r.stderr.trimEnd(), message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
    }
  });
});
