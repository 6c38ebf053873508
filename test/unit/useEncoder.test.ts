import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TokenSpan } from '../../src/protocol/attention';
import { SentencePieceTokenizer } from '../../src/core/text/sentencePiece';
import { CodedError } from '../../src/worker/errors';
import { USE_ASSET_FILES } from '../../src/worker/use/useAssets';
import { USE_LITE_REF, UseEncoder } from '../../src/worker/use/useEncoder';
import { UseTfjsReference } from '../../src/worker/use/useTfjsReference';
import { repoRoot } from '../harness/paths';
import { seededRandom } from '../harness/searchFakes';
// The official tokenizer, as published (no TF.js model is loaded: only its pure-JS tokenizer is used).
import { Tokenizer as OfficialTokenizer } from '@tensorflow-models/universal-sentence-encoder/dist/tokenizer';
import { rowCosine, rowSumError } from '../harness/reference';

/** Paraphrase pairs on fourteen different topics, written for this test. */
const PARAPHRASES: readonly (readonly [string, string])[] = [
  ['Preheat the oven before you put the bread in.', 'Heat up the oven first, then bake the loaf.'],
  ['It is going to rain heavily tomorrow afternoon.', 'Expect strong showers tomorrow after lunch.'],
  ['The function crashes when the input list is empty.', 'Passing an empty list makes the function throw an error.'],
  ['The central bank raised interest rates again this month.', 'Borrowing costs went up once more after the central bank decision this month.'],
  ['Our team won the championship final last night.', 'Yesterday evening we took the title in the final match.'],
  ['Drinking enough water every day keeps you healthy.', 'Staying well hydrated is good for your health.'],
  ['The flight to Tokyo was delayed by three hours.', 'Our plane to Japan left three hours late.'],
  ['My dog loves chasing balls in the park.', 'In the park, my puppy enjoys running after balls.'],
  ['Students must hand in their essays by Friday.', 'The deadline for submitting the essays is Friday.'],
  ['She plays the piano beautifully.', 'Her piano playing is lovely.'],
  ['Please restart your computer to finish installing the updates.', 'Reboot the machine so the updates can complete.'],
  ['Water the tomato plants every morning during the summer.', 'In summer, the tomatoes need watering each morning.'],
  ['The store closes at nine in the evening.', 'The shop shuts at 9 pm.'],
  ['The castle was built in the twelfth century.', 'The fortress dates back to the 1100s.'],
];

/**
 * Measured with this model: the weakest paraphrase pair has cosine 0.639 (rain / showers) and the closest
 * unrelated pair 0.579, a margin of 0.060. The assertion leaves 0.01 for arithmetic differences between CPUs.
 */
const PARAPHRASE_MARGIN = 0.05;

/** Agreement required with the TF.js run of the published graph (the README quotes both figures). */
const COSINE_TOLERANCE = 1e-9;
const ATTENTION_TOLERANCE = 5e-6;

const LONG_TEXT = Array.from({ length: 12 }, (_, i) => `Sentence number ${i + 1} talks about compilers, gardens and the weather in Lisbon.`).join(' ');

const EDGE_TEXTS = [
  '',
  ' ',
  'a',
  'Emoji 😀😀 and 東京, tabs\tand\nnewlines',
  'The ﬁnal café — naïve résumé, Ｆｕｌｌｗｉｄｔｈ ™ ½',
  'Smileys :) and URLs https://example.com/a?b=c',
];

interface TokenizerFixture {
  readonly items: readonly { readonly text: string; readonly ids: readonly number[] }[];
}

const noCheckpoint = async (): Promise<void> => {};

const cosine = (a: Float32Array, i: number, b: Float32Array, j: number, dims = 512): number => rowCosine(a, i, b, j, dims);

/**
 * Each token's range holds the text it stands for: after NFKC, the piece (without its '▁' space marker) is the
 * source text, or part of it when one source character became several pieces ('™' → 'T' 'M'). Unknown pieces
 * cover the characters they replaced; ranges move forward through the text.
 */
function assertMapsBack(text: string, tokens: readonly TokenSpan[]): void {
  let previousStart = 0;
  for (const t of tokens) {
    assert.ok(t.start >= previousStart && t.start <= t.end && t.end <= text.length, `token ${JSON.stringify(t)} out of order or range in ${JSON.stringify(text)}`);
    previousStart = t.start;
    assert.equal(t.special, false);
    const raw = text.slice(t.start, t.end);
    const source = raw.normalize('NFKC').replace(/\u2581/g, ' ').trim();
    const piece = t.text.replace(/\u2581/g, ' ').trim();
    if (t.text === '\ufffd') assert.ok(t.end > t.start, `the unknown piece covers the text it replaced in ${JSON.stringify(text)}`);
    else if (raw.normalize('NFKC') === raw) assert.equal(source, piece, `token ${JSON.stringify(t.text)} maps to ${JSON.stringify(raw)}`);
    else assert.ok(source.includes(piece), `token ${JSON.stringify(t.text)} maps to ${JSON.stringify(raw)}`);
  }
}

describe('bundled encoder: Universal Sentence Encoder lite on onnxruntime', function () {
  this.timeout(60_000);
  let use: UseEncoder;
  let reference: UseTfjsReference;

  before(async () => {
    use = await UseEncoder.load();
    reference = await UseTfjsReference.load(use.assetsDir);
  });
  after(async () => {
    await use?.dispose();
    reference?.dispose();
  });

  it('describes itself as bundled:use-lite, 2 layers × 4 heads, 512-d, 128 tokens', () => {
    assert.equal(use.info.ref, USE_LITE_REF);
    assert.equal(use.info.layers, 2);
    assert.equal(use.info.heads, 4);
    assert.equal(use.info.hiddenSize, 512);
    assert.equal(use.info.maxTokens, 128);
  });

  it('tokenises exactly like the official USE tokenizer (fixture from @tensorflow-models/universal-sentence-encoder)', () => {
    const fixture = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'use', 'tokenizer-reference.json'), 'utf8')) as TokenizerFixture;
    assert.ok(fixture.items.length >= 30);
    for (const { text, ids } of fixture.items) assert.deepEqual(use.tokenize(text).map((p) => p.id), ids, JSON.stringify(text));
  });

  it('tokenises 3,106 seeded random texts exactly like the official USE tokenizer (@tensorflow-models/universal-sentence-encoder 1.3.3)', () => {
    const vocabulary = JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', '@energetic-ai', 'model-embeddings-en', 'dist', 'vocab.json'), 'utf8')) as [string, number][];
    const official = new OfficialTokenizer(vocabulary);
    const random = seededRandom(20261207);
    const pieces = vocabulary.slice(8).map(([p]) => p.replace(/▁/g, ' '));
    const alphabet = [...'abcXYZ019 \t\n.,;:!?-_/\\\'"()[]{}@#$%^&*+=<>~`|éèüßçñÅØ€£¥©°±µ¶·¿ﬁﬂ—–…‘’“”中文字日本語한국어😀👍🏽🇫🇷\u00a0\u2009\u200b\ufeff'];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    let mismatches = 0;
    const examples: string[] = [];
    for (let n = 0; n < 3106; n++) {
      let text = '';
      const parts = 1 + Math.floor(random() * 12);
      for (let k = 0; k < parts; k++) {
        const r = random();
        if (r < 0.5) text += pick(pieces);
        else if (r < 0.8) text += Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(alphabet)).join('');
        else text += random() < 0.5 ? ' ' : pick(pieces).toUpperCase();
      }
      const ours = use.tokenize(text).map((p) => p.id);
      const theirs = official.encode(text);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        mismatches++;
        if (examples.length < 3) examples.push(`${JSON.stringify(text)}: ${JSON.stringify(ours)} vs ${JSON.stringify(theirs)}`);
      }
    }
    assert.equal(mismatches, 0, examples.join('\n'));
  });

  it('maps every piece back to the characters of the text it came from', () => {
    const fixture = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'use', 'tokenizer-reference.json'), 'utf8')) as TokenizerFixture;
    for (const { text } of fixture.items) {
      assertMapsBack(text, use.tokenize(text).map((p) => ({ text: p.piece, start: p.start, end: p.end, special: false })));
    }
    const spans = use.tokenize('The ﬁnal café').map((p) => `${p.piece}:${'The ﬁnal café'.slice(p.start, p.end)}`);
    assert.deepEqual(spans, ['▁The:The', '▁final:ﬁnal', '▁ca:ca', 'f:f', 'é:é']);
  });

  it('keeps the official quirks: a null score counts as 0, and a path of score 0 counts as no path yet', () => {
    const vocabulary: [string, number | null][] = [['<unk>', 0], ['<s>', 0], ['</s>', 0], ['x1', 0], ['x2', 0], ['x3', 0], ['▁a', -1], ['b', -5], ['▁ab', -0.5], ['▁', -2]];
    assert.deepEqual(new SentencePieceTokenizer(vocabulary).encode('ab').map((p) => p.piece), ['▁ab']);
    // With '▁ab' at null (score 0) the official tokenizer ends on '▁a' 'b' (-6): checked against
    // @tensorflow-models/universal-sentence-encoder 1.3.3. The shipped vocabulary has seven such pieces (':', '://', …).
    vocabulary[8] = ['▁ab', null];
    assert.deepEqual(new SentencePieceTokenizer(vocabulary).encode('ab').map((p) => p.piece), ['▁a', 'b']);
  });

  it(`puts each paraphrase nearest its partner and above every unrelated pair by ≥ ${PARAPHRASE_MARGIN}`, async () => {
    const texts = PARAPHRASES.flat();
    const { dims, count, vectors } = await use.embed(texts, noCheckpoint);
    assert.equal(dims, 512);
    assert.equal(count, texts.length);
    let weakestParaphrase = { sim: Infinity, text: '' };
    let closestUnrelated = { sim: -Infinity, text: '' };
    for (let i = 0; i < texts.length; i++) {
      const partner = i ^ 1;
      let nearest = -1;
      for (let j = 0; j < texts.length; j++) {
        if (j === i) continue;
        const sim = cosine(vectors, i, vectors, j);
        if (nearest < 0 || sim > cosine(vectors, i, vectors, nearest)) nearest = j;
        if (j >> 1 !== i >> 1 && sim > closestUnrelated.sim) closestUnrelated = { sim, text: `${texts[i]} / ${texts[j]}` };
      }
      assert.equal(texts[nearest], texts[partner], `nearest neighbour of "${texts[i]}"`);
      const sim = cosine(vectors, i, vectors, partner);
      if (sim < weakestParaphrase.sim) weakestParaphrase = { sim, text: `${texts[i]} / ${texts[partner]}` };
    }
    const margin = weakestParaphrase.sim - closestUnrelated.sim;
    assert.ok(
      margin >= PARAPHRASE_MARGIN,
      `margin ${margin.toFixed(3)}: weakest paraphrase ${weakestParaphrase.sim.toFixed(3)} (${weakestParaphrase.text}), closest unrelated ${closestUnrelated.sim.toFixed(3)} (${closestUnrelated.text})`,
    );
  });

  it(`gives the TF.js graph's vectors within ${COSINE_TOLERANCE} cosine, L2-normalised, in input order`, async () => {
    const texts = [...PARAPHRASES.flat(), ...EDGE_TEXTS, LONG_TEXT];
    const { vectors } = await use.embed(texts, noCheckpoint);
    // TF.js gets the untruncated ids: its graph drops tokens after 128 itself.
    const expected = await reference.embedIds(texts.map((t) => use.tokenize(t).map((p) => p.id)));
    texts.forEach((text, i) => {
      const sim = cosine(vectors, i, expected, i);
      assert.ok(sim >= 1 - COSINE_TOLERANCE, `cosine ${sim} for ${JSON.stringify(text.slice(0, 40))}`);
      let norm = 0;
      for (let d = 0; d < 512; d++) norm += vectors[i * 512 + d]! ** 2;
      assert.ok(Math.abs(Math.sqrt(norm) - 1) < 1e-5, `norm ${Math.sqrt(norm)}`);
    });
  });

  it('gives a text the same vector alone as in a batch of other lengths', async () => {
    const texts = [LONG_TEXT, 'short', ...PARAPHRASES.slice(0, 5).flat(), ''];
    const { vectors } = await use.embed(texts, noCheckpoint);
    for (const [i, text] of texts.entries()) {
      const alone = await use.embed([text], noCheckpoint);
      assert.ok(cosine(vectors, i, alone.vectors, 0) > 1 - 1e-6, JSON.stringify(text));
    }
  });

  it('reads attention from both layers: equal to the TF.js attention_weights nodes, rows sum to 1, tokens map back', async () => {
    for (const text of [PARAPHRASES[2]![1], EDGE_TEXTS[3]!, EDGE_TEXTS[4]!, 'a']) {
      const maps = await use.attentionMaps(text);
      const n = maps.tokens.length;
      assert.equal(maps.model, USE_LITE_REF);
      assert.equal(maps.layers, 2);
      assert.equal(maps.heads, 4);
      assert.equal(maps.weights.length, 2 * 4 * n * n);
      assert.equal(maps.truncated, false);
      assert.equal(maps.inputTokens, n);
      assert.ok(rowSumError(maps) < 1e-5, `rows of ${JSON.stringify(text)} sum to 1`);
      assertMapsBack(text, maps.tokens);
      const expected = await reference.attentionIds(use.encodeIds(text));
      assert.equal(expected.length, maps.weights.length);
      let diff = 0;
      for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(expected[i]! - maps.weights[i]!));
      assert.ok(diff < ATTENTION_TOLERANCE, `max abs difference ${diff} for ${JSON.stringify(text)}`);
    }
  });

  it('reads a long text through a window of 128 tokens and says so', async () => {
    const all = use.tokenize(LONG_TEXT);
    assert.ok(all.length > 128 + 40);
    const first = await use.attentionMaps(LONG_TEXT);
    assert.equal(first.truncated, true);
    assert.equal(first.tokens.length, 128);
    assert.equal(first.maxTokens, 128);
    assert.equal(first.inputTokens, all.length);
    assert.deepEqual(first.window, { start: 0, textTokens: all.length });
    assert.ok(rowSumError(first) < 1e-5);
    assertMapsBack(LONG_TEXT, first.tokens);

    const later = await use.attentionMaps(LONG_TEXT, 40);
    assert.deepEqual(later.window, { start: 40, textTokens: all.length });
    assert.deepEqual(later.tokens.map((t) => [t.start, t.end]), all.slice(40, 168).map((p) => [p.start, p.end]));
    const expected = await reference.attentionIds(all.slice(40, 168).map((p) => p.id));
    let diff = 0;
    for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(expected[i]! - later.weights[i]!));
    assert.ok(diff < ATTENTION_TOLERANCE, `max abs difference ${diff}`);

    const clamped = await use.attentionMaps(LONG_TEXT, 10_000);
    assert.equal(clamped.window.start, all.length - 128);
    assert.equal(clamped.tokens.at(-1)!.end, all.at(-1)!.end);
  });

  it('reads a text longer than 64 KiB up to a word boundary, and says how much it read (issue 13 item 1)', async () => {
    const text = 'lorem ipsum dolor '.repeat(8000);
    const maps = await use.attentionMaps(text, 1e9);
    assert.ok(maps.read.chars <= 64 * 1024 && maps.read.chars > 64 * 1024 - 20, `read ${maps.read.chars} characters`);
    assert.equal(maps.read.totalChars, text.length);
    assert.equal(maps.truncated, true);
    assert.match(text[maps.read.chars - 1]!, /\s/, 'the part read ends after whitespace');
    // The last window ends with the last whole word of the part read (then, at most, a piece for the final space).
    const words = maps.tokens.filter((t) => text.slice(t.start, t.end).trim() !== '');
    assert.equal(words.at(-1)!.end, text.slice(0, maps.read.chars).trimEnd().length);
    assert.ok(maps.tokens.at(-1)!.end <= maps.read.chars);
    const short = await use.attentionMaps('a short text');
    assert.deepEqual(short.read, { chars: 12, totalChars: 12 });
  });

  it('gives an empty text no tokens and the vector TF.js gives it', async () => {
    const maps = await use.attentionMaps('');
    assert.deepEqual(maps.tokens, []);
    assert.equal(maps.weights.length, 0);
    const { vectors } = await use.embed(['', 'x'], noCheckpoint);
    const expected = await reference.embedIds([[], use.encodeIds('x')]);
    assert.ok(cosine(vectors, 0, expected, 0) > 1 - COSINE_TOLERANCE);
  });

  it('reports progress between batches and stops when the checkpoint throws', async () => {
    const texts = Array.from({ length: 40 }, (_, i) => `text number ${i}`);
    const seen: number[] = [];
    await use.embed(texts, async (done, total) => {
      assert.equal(total, 40);
      seen.push(done);
    });
    assert.equal(seen[0], 0);
    assert.equal(seen.at(-1), 40);
    await assert.rejects(
      use.embed(texts, async (done) => {
        if (done > 0) throw new CodedError('cancelled', 'Cancelled');
      }),
      (e: unknown) => e instanceof CodedError && e.code === 'cancelled',
    );
  });

  it('loads from a folder holding only the shipped files, and names a missing one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'use-lite-'));
    try {
      for (const f of USE_ASSET_FILES) fs.copyFileSync(path.join(use.assetsDir, f), path.join(dir, f));
      const copy = await UseEncoder.load(dir);
      const a = await copy.embed(['offline check'], noCheckpoint);
      const b = await use.embed(['offline check'], noCheckpoint);
      assert.ok(cosine(a.vectors, 0, b.vectors, 0) > 1 - 1e-6);
      await copy.dispose();
      fs.rmSync(path.join(dir, 'group1-shard3of7'));
      await assert.rejects(UseEncoder.load(dir), (e: unknown) => e instanceof CodedError && e.code === 'modelNotFound' && /group1-shard3of7/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
