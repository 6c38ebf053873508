import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crossAttentionIndex, type GenerationUpdate } from '../../src/protocol/summarize';
import type { Dtype, LocalModel } from '../../src/protocol/worker';
import { CodedError } from '../../src/worker/errors';
import { Seq2SeqModel } from '../../src/worker/seq2seq/seq2seqModel';
import { fixtureModel } from '../harness/paths';
import { maxAbsDiff } from '../harness/reference';

/** PyTorch references written by scripts/fixtures/make_seq2seq.py (see test/fixtures/models/README.md). */
interface Seq2SeqReference {
  readonly generation: { max_new_tokens: number; num_beams: number; length_penalty: number; eos_token_id: number; decoder_start_token_id: number };
  readonly items: {
    readonly text: string;
    readonly tokens: string[];
    readonly input_ids: number[];
    readonly greedy: { sequence: number[]; text: string; stopped_by: 'eos' | 'max_length' };
    readonly beam: {
      sequence: number[];
      sequence_score: number;
      text: string;
      hypotheses: { sequence: number[]; score: number; sum_logprobs: number; generated_len: number; finished: 'eos' | 'max_length' }[];
    };
    readonly cross_attentions: number[][][][];
  }[];
}

const MODELS = ['tiny-t5', 'tiny-bart'] as const;
const local = (name: string, dtype: Dtype = 'fp32'): LocalModel => ({ ref: name, dir: fixtureModel(name), dtype });
const reference = (name: string): Seq2SeqReference => JSON.parse(fs.readFileSync(path.join(fixtureModel(name), 'reference.json'), 'utf8')) as Seq2SeqReference;
const short = (text: string): string => JSON.stringify(text.slice(0, 24));

/** What a consumer of the stream shows after each update. */
function replay(updates: readonly GenerationUpdate[]): string {
  let shown = '';
  for (const u of updates) shown = u.replace ? u.text : shown + u.delta;
  return shown;
}

describe('seq2seq model: generation against PyTorch', function () {
  this.timeout(60_000);
  const loaded = new Map<string, Promise<Seq2SeqModel>>();
  const model = (name: string, dtype: Dtype = 'fp32'): Promise<Seq2SeqModel> => {
    const key = `${name}/${dtype}`;
    if (!loaded.has(key)) loaded.set(key, Seq2SeqModel.load(local(name, dtype)));
    return loaded.get(key)!;
  };
  after(async () => {
    for (const m of loaded.values()) await (await m).dispose();
  });

  for (const name of MODELS) {
    const ref = reference(name);
    const { max_new_tokens: maxNewTokens, num_beams: numBeams, length_penalty: lengthPenalty } = ref.generation;

    it(`${name}: reads its generation defaults from generation_config.json`, async () => {
      const m = await model(name);
      const d = m.info.defaults;
      assert.equal(d.decoderStartTokenId, ref.generation.decoder_start_token_id);
      assert.deepEqual(d.eosTokenIds, [ref.generation.eos_token_id]);
      assert.equal(d.numBeams, 1);
      assert.equal(m.info.decoderMode, 'merged');
      assert.equal(m.info.crossAttention, true);
      if (name === 'tiny-bart') assert.deepEqual([d.forcedBosTokenId, d.forcedEosTokenId, m.info.maxDecoderTokens], [0, 2, 128]);
      else assert.deepEqual([d.forcedBosTokenId, d.forcedEosTokenId, m.info.maxDecoderTokens], [undefined, undefined, undefined]);
    });

    for (const [i, item] of ref.items.entries()) {
      it(`${name} #${i} ${short(item.text)}: greedy ids and text equal PyTorch's, with and without the KV cache`, async () => {
        const m = await model(name);
        for (const useCache of [true, false]) {
          const r = await m.generate(item.text, { maxNewTokens, numBeams: 1, useCache });
          assert.deepEqual(r.ids, item.greedy.sequence, `useCache ${useCache}`);
          assert.equal(r.text, item.greedy.text);
          assert.equal(r.stoppedBy, item.greedy.stopped_by === 'eos' ? 'eos' : 'maxLength');
          assert.equal(r.inputTokens, item.input_ids.length);
          assert.equal(r.truncated, false);
          assert.equal(r.score, undefined);
        }
      });

      it(`${name} #${i} ${short(item.text)}: beam search (3 beams) returns PyTorch's hypotheses, best first, scores within 1e-4`, async () => {
        const m = await model(name);
        for (const useCache of [true, false]) {
          const r = await m.generate(item.text, { maxNewTokens, numBeams, lengthPenalty, earlyStopping: false, useCache });
          assert.deepEqual(r.ids, item.beam.sequence, `useCache ${useCache}`);
          assert.equal(r.text, item.beam.text);
          assert.ok(Math.abs(r.score! - item.beam.sequence_score) < 1e-4, `score ${r.score} vs ${item.beam.sequence_score}`);
          assert.equal(r.hypotheses!.length, item.beam.hypotheses.length);
          r.hypotheses!.forEach((h, k) => {
            const expected = item.beam.hypotheses[k]!;
            assert.deepEqual(h.ids, expected.sequence, `hypothesis ${k}`);
            assert.equal(h.generatedLength, expected.generated_len);
            assert.equal(h.finished, expected.finished === 'eos' ? 'eos' : 'maxLength');
            assert.ok(Math.abs(h.score - expected.score) < 1e-4, `hypothesis ${k} score ${h.score} vs ${expected.score}`);
            assert.ok(Math.abs(h.sumLogprobs - expected.sum_logprobs) < 1e-3);
          });
        }
      });
    }

    it(`${name}: greedy streaming sends one token per update, in order; ids and text deltas add up to the result`, async () => {
      const m = await model(name);
      for (const item of ref.items) {
        const updates: GenerationUpdate[] = [];
        const r = await m.generate(item.text, { maxNewTokens, numBeams: 1 }, (u) => updates.push(u));
        assert.equal(updates.length, r.steps + 1, 'one update per token plus the final one');
        updates.slice(0, -1).forEach((u, k) => {
          assert.equal(u.step, k + 1);
          assert.equal(u.newIds.length, 1);
          assert.equal(u.replace, false);
          assert.equal(u.done, false);
        });
        const last = updates.at(-1)!;
        assert.equal(last.done, true);
        assert.deepEqual(last.ids, r.ids);
        assert.deepEqual([r.ids[0], ...updates.flatMap((u) => u.newIds)], r.ids);
        assert.equal(m.decode(updates.flatMap((u) => u.newIds)), r.text);
        assert.equal(updates.map((u) => u.delta).join(''), r.text);
        assert.equal(replay(updates), r.text);
      }
    });

    it(`${name}: beam streaming shows the best running beam each step and ends on the chosen hypothesis`, async () => {
      const m = await model(name);
      for (const item of ref.items) {
        const updates: GenerationUpdate[] = [];
        const r = await m.generate(item.text, { maxNewTokens, numBeams, lengthPenalty }, (u) => updates.push(u));
        assert.deepEqual(r.ids, item.beam.sequence);
        assert.equal(updates.at(-1)!.done, true);
        assert.deepEqual(updates.at(-1)!.ids, r.ids);
        assert.equal(replay(updates), r.text);
        for (const u of updates) assert.equal(u.text, m.decode(u.ids));
      }
    });

    it(`${name}: cancelling mid-generation stops within 100 ms`, async () => {
      const m = await model(name);
      const controller = new AbortController();
      let abortedAt = 0;
      let tokensAfterAbort = 0;
      const checkpoint = async (): Promise<void> => {
        await new Promise((resolve) => setImmediate(resolve));
        if (controller.signal.aborted) throw new CodedError('cancelled', 'Cancelled');
      };
      const pending = m.generate(
        ref.items[2]!.text,
        // eos is forbidden until the limit, so only the cancel can end this early
        { maxNewTokens: 120, minNewTokens: 119, numBeams: 1 },
        (u) => {
          if (abortedAt > 0) tokensAfterAbort++;
          if (u.step === 5) setTimeout(() => ((abortedAt = performance.now()), controller.abort()), 0);
        },
        checkpoint,
      );
      await assert.rejects(pending, (e: unknown) => e instanceof CodedError && e.code === 'cancelled');
      const elapsed = performance.now() - abortedAt;
      assert.ok(abortedAt > 0, 'the abort fired during generation');
      assert.ok(elapsed < 100, `stopped ${elapsed.toFixed(1)} ms after the cancel`);
      assert.ok(tokensAfterAbort <= 1, `${tokensAfterAbort} tokens after the cancel`);
    });

    it(`${name}: the q8 files load and generate (greedy and beam)`, async () => {
      const m = await model(name, 'q8');
      for (const item of ref.items) {
        const g = await m.generate(item.text, { maxNewTokens, numBeams: 1 });
        assert.equal(g.ids[0], ref.generation.decoder_start_token_id);
        assert.ok(g.ids.length >= 2 && g.ids.length <= maxNewTokens + 1);
        assert.ok(g.ids.every((id) => id >= 0 && id < m.info.vocabSize));
        assert.equal(g.text, m.decode(g.ids));
        const b = await m.generate(item.text, { maxNewTokens, numBeams: 3 });
        assert.ok(Number.isFinite(b.score));
      }
    });

    it(`${name}: a long input is cut to the model's limit, keeping the end-of-sequence token`, async () => {
      const m = await model(name);
      const text = Array.from({ length: 80 }, () => ref.items[2]!.text).join(' ');
      const r = await m.generate(text, { maxNewTokens: 4, maxInputTokens: 40 });
      assert.equal(r.inputTokens, 40);
      assert.equal(r.truncated, true);
      assert.ok(r.untruncatedInputTokens > 1000);
      const maps = await m.crossAttention(text, r.ids, { maxInputTokens: 40 });
      assert.equal(maps.sourceTokens.length, 40);
      assert.equal(maps.sourceTokens.at(-1)!.text, '</s>');
      assert.equal(maps.truncated, true);
    });

    it(`${name}: repetition control: no n-gram repeats with noRepeatNgramSize, and min/max length hold`, async () => {
      const m = await model(name);
      for (const item of ref.items) {
        for (const numBeams of [1, 3]) {
          const r = await m.generate(item.text, { maxNewTokens: 20, numBeams, noRepeatNgramSize: 2 });
          const seen = new Set<string>();
          for (let k = 0; k + 2 <= r.ids.length; k++) {
            const gram = `${r.ids[k]},${r.ids[k + 1]}`;
            assert.ok(!seen.has(gram), `bigram ${gram} repeats in ${r.ids.join(' ')}`);
            seen.add(gram);
          }
          const long = await m.generate(item.text, { maxNewTokens: 15, minNewTokens: 15, numBeams });
          assert.equal(long.ids.length, 16);
        }
        const penalised = await m.generate(item.text, { maxNewTokens: 12, repetitionPenalty: 3 });
        const plain = await m.generate(item.text, { maxNewTokens: 12 });
        const distinct = (ids: readonly number[]): number => new Set(ids).size / ids.length;
        assert.ok(distinct(penalised.ids) >= distinct(plain.ids), `${penalised.ids} vs ${plain.ids}`);
      }
    });

    it(`${name}: cross-attention matches PyTorch within 1e-4: shapes, row sums, source offsets`, async () => {
      const m = await model(name);
      for (const item of ref.items) {
        const maps = await m.crossAttention(item.text, item.greedy.sequence);
        const targets = item.greedy.sequence.length - 1;
        assert.equal(maps.layers, 2);
        assert.equal(maps.heads, 4);
        assert.equal(maps.targetTokens.length, targets);
        assert.deepEqual(maps.sourceTokens.map((t) => t.text), item.tokens);
        assert.equal(maps.weights.length, 2 * 4 * targets * item.input_ids.length);
        assert.ok(maxAbsDiff(maps.weights, item.cross_attentions.flat(3)) < 1e-4);
        let worst = 0;
        for (let l = 0; l < maps.layers; l++)
          for (let h = 0; h < maps.heads; h++)
            for (let t = 0; t < targets; t++) {
              let sum = 0;
              for (let s = 0; s < maps.sourceTokens.length; s++) sum += maps.weights[crossAttentionIndex(maps, l, h, t, s)]!;
              worst = Math.max(worst, Math.abs(sum - 1));
            }
        assert.ok(worst < 1e-5, `row sums off by ${worst}`);
        // Source ranges: each text piece covers exactly its characters in the source.
        let last = 0;
        for (const tok of maps.sourceTokens) {
          assert.ok(tok.start >= last || tok.special, `${tok.text} starts before the previous token`);
          if (tok.special) continue;
          const piece = name === 'tiny-t5' ? tok.text.replace(/^\u2581/u, '') : Buffer.from([...tok.text].map((c) => byteOf(c))).toString('utf8').trim();
          if (piece !== '') assert.equal(item.text.slice(tok.start, tok.end), piece, `token ${tok.text}`);
          last = tok.end;
        }
        // Target ranges point into the decoded text.
        assert.equal(maps.targetText, item.greedy.text);
        for (const tok of maps.targetTokens) assert.ok(tok.start <= tok.end && tok.end <= maps.targetText.length);
        assert.equal(maps.targetTokens.at(-1)!.special, item.greedy.sequence.at(-1) === ref.generation.eos_token_id);
      }
    });
  }

  it('cross-attention accepts ids without the decoder start token, and a generated sequence from generate()', async () => {
    const m = await model('tiny-t5');
    const item = reference('tiny-t5').items[0]!;
    const a = await m.crossAttention(item.text, item.greedy.sequence.slice(1));
    assert.ok(maxAbsDiff(a.weights, item.cross_attentions.flat(3)) < 1e-4);
    const r = await m.generate(item.text, { maxNewTokens: 12, numBeams: 3 });
    const b = await m.crossAttention(item.text, r.ids);
    assert.equal(b.targetTokens.length, r.ids.length - 1);
  });

  it('a task prefix ("summarize: ") is read by the model but its tokens map to no source characters', async () => {
    const m = await model('tiny-t5');
    const text = 'The quick brown fox jumps over the lazy dog.';
    const r = await m.generate(text, { maxNewTokens: 6, prefix: 'summarize: ' });
    assert.equal(r.options.prefix, 'summarize: ');
    assert.ok(r.inputTokens > reference('tiny-t5').items[0]!.input_ids.length);
    const maps = await m.crossAttention(text, r.ids, { prefix: 'summarize: ' });
    const fromText = maps.sourceTokens.filter((t) => !t.special);
    assert.deepEqual(fromText.map((t) => text.slice(t.start, t.end)), ['The', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', '.']);
    const prefixTokens = r.inputTokens - reference('tiny-t5').items[0]!.input_ids.length;
    assert.deepEqual(maps.sourceTokens.slice(0, prefixTokens).map((t) => [t.text, t.start, t.end, t.special]), [['\u2581summarize', 0, 0, true], [':', 0, 0, true]]);
  });

  it('q8: cross-attention falls back to the fp32 decoder_model.onnx and still sums to 1', async () => {
    const m = await model('tiny-bart', 'q8');
    const item = reference('tiny-bart').items[1]!;
    const maps = await m.crossAttention(item.text, item.greedy.sequence);
    assert.equal(maps.decoderFile, 'decoder_model.onnx');
    const t = maps.targetTokens.length;
    const s = maps.sourceTokens.length;
    for (let row = 0; row < maps.layers * maps.heads * t; row++) {
      let sum = 0;
      for (let k = 0; k < s; k++) sum += maps.weights[row * s + k]!;
      assert.ok(Math.abs(sum - 1) < 1e-4);
    }
  });

  it('explains a model without decoder_model.onnx, a non-seq2seq folder and a missing decoder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-seq2seq-'));
    try {
      fs.cpSync(fixtureModel('tiny-t5'), dir, { recursive: true });
      fs.rmSync(path.join(dir, 'onnx', 'decoder_model.onnx'));
      const m = await Seq2SeqModel.load({ ref: 'no-plain-decoder', dir, dtype: 'fp32' });
      try {
        assert.equal(m.info.crossAttention, false);
        const r = await m.generate('The quick brown fox jumps over the lazy dog.', { maxNewTokens: 12, useCache: false });
        assert.deepEqual(r.ids, reference('tiny-t5').items[0]!.greedy.sequence, 'no-cache generation falls back to the merged file');
        await assert.rejects(m.crossAttention('The quick brown fox.', r.ids), (e: unknown) => e instanceof CodedError && e.code === 'attentionUnavailable' && /no onnx\/decoder_model\.onnx/.test(e.message));
      } finally {
        await m.dispose();
      }
      fs.rmSync(path.join(dir, 'onnx', 'decoder_model_merged.onnx'));
      await assert.rejects(Seq2SeqModel.load({ ref: 'no-decoder', dir, dtype: 'fp32' }), (e: unknown) => e instanceof CodedError && e.code === 'modelNotFound' && /decoder_model_merged\.onnx/.test(e.message));
      await assert.rejects(Seq2SeqModel.load(local('tiny-bert')), (e: unknown) => e instanceof CodedError && e.code === 'badModel' && /not an encoder–decoder model/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** GPT-2 byte-level stand-in character → byte. */
function byteOf(ch: string): number {
  const printable = new Set<number>();
  for (let b = 33; b <= 126; b++) printable.add(b);
  for (let b = 161; b <= 172; b++) printable.add(b);
  for (let b = 174; b <= 255; b++) printable.add(b);
  const code = ch.charCodeAt(0);
  if (printable.has(code)) return code;
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (printable.has(b)) continue;
    if (256 + n === code) return b;
    n++;
  }
  throw new Error(`not a byte-level character: ${ch}`);
}
