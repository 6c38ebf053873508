/** Unit tests of the seq2seq building blocks that need no model: discovery, search bookkeeping, options, spans, streaming. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findCrossAttentionTensors } from '../../src/core/attention/crossAttentionDiscovery';
import { AttentionUnavailableError } from '../../src/core/attention/softmaxDiscovery';
import { readOnnxGraph, type OnnxGraphSummary, type OnnxNode } from '../../src/core/onnx/onnxGraph';
import type { ResolvedGenerationOptions } from '../../src/protocol/summarize';
import { seq2seqFiles } from '../../src/core/summarize/seq2seqFiles';
import { resolveGenerationOptions, type ModelGenerationFacts } from '../../src/worker/seq2seq/generationConfig';
import { isSeq2SeqFolder } from '../../src/worker/seq2seq/seq2seqModel';
import { bannedNgramTokens, beamSearch, greedySearch, processScores, type DecoderStepper } from '../../src/worker/seq2seq/search';
import { TextStream } from '../../src/worker/seq2seq/textStream';
import { pieceSpans } from '../../src/worker/seq2seq/tokenSpans';
import { fixtureModel } from '../harness/paths';

const read = (model: string, file: string): Uint8Array => fs.readFileSync(path.join(fixtureModel(model), 'onnx', file));

describe('cross-attention discovery', () => {
  const cases = [
    ['tiny-t5', (n: number) => `/decoder/block.${n}/layer.1/EncDecAttention/Softmax`, (n: number) => `/decoder/block.${n}/layer.0/SelfAttention/Softmax`],
    ['tiny-bart', (n: number) => `/model/decoder/layers.${n}/encoder_attn/Softmax`, (n: number) => `/model/decoder/layers.${n}/self_attn/Softmax`],
  ] as const;
  for (const [model, cross, self] of cases) {
    it(`${model}: finds each decoder layer's cross- and self-attention Softmax in decoder_model.onnx`, () => {
      const found = findCrossAttentionTensors(readOnnxGraph(read(model, 'decoder_model.onnx')), 2);
      assert.deepEqual(found.map((l) => l.layer), [0, 1]);
      assert.deepEqual(found.map((l) => l.cross.nodeName), [cross(0), cross(1)]);
      assert.deepEqual(found.map((l) => l.self.nodeName), [self(0), self(1)]);
      assert.deepEqual(found.map((l) => l.cross.output), [`${cross(0)}_output_0`, `${cross(1)}_output_0`]);
    });

    it(`${model}: explains that the merged decoder hides attention inside If branches`, () => {
      assert.throws(
        () => findCrossAttentionTensors(readOnnxGraph(read(model, 'decoder_model_merged.onnx')), 2),
        (e: Error) => e instanceof AttentionUnavailableError && /If node/.test(e.message) && /decoder_model\.onnx/.test(e.message),
      );
    });

    it(`${model}: refuses a layer count that does not match the config`, () => {
      assert.throws(() => findCrossAttentionTensors(readOnnxGraph(read(model, 'decoder_model.onnx')), 3), /declares 3 decoder layers/);
    });
  }

  const node = (opType: string, inputs: string[], outputs: string[], name = outputs[0]!): OnnxNode => ({ name, opType, domain: '', inputs, outputs, intAttributes: new Map() });
  const attention = (name: string, q: string, k: string, v: string, out: string): OnnxNode[] => [
    node('MatMul', [q, k], [`${name}/scores`]),
    node('Softmax', [`${name}/scores`], [`${name}/Softmax_output_0`], `${name}/Softmax`),
    node('MatMul', [`${name}/Softmax_output_0`, v], [out]),
  ];
  const graph = (nodes: OnnxNode[]): OnnxGraphSummary => ({ nodes, inputs: ['input_ids', 'encoder_hidden_states'], outputs: ['logits'], opset: 14 });

  it('without telling names, takes self then cross in graph order per layer', () => {
    const g = graph([...attention('/a', 'x', 'y', 'z', 'h0'), ...attention('/b', 'h0', 'enc', 'enc', 'h1'), ...attention('/c', 'h1', 'h1', 'h1', 'h2'), ...attention('/d', 'h2', 'enc', 'enc', 'h3')]);
    const found = findCrossAttentionTensors(g, 2);
    assert.deepEqual(found.map((l) => [l.self.nodeName, l.cross.nodeName]), [['/a/Softmax', '/b/Softmax'], ['/c/Softmax', '/d/Softmax']]);
    assert.throws(() => findCrossAttentionTensors(graph(attention('/a', 'x', 'y', 'z', 'h0')), 1), /cannot tell which nodes are the cross-attention/);
  });

  it('says a decoder with fused attention kernels exposes no cross-attention', () => {
    const fused: OnnxNode = { ...node('MultiHeadAttention', ['h0', 'enc', 'enc'], ['h1']), domain: 'com.microsoft' };
    assert.throws(() => findCrossAttentionTensors(graph([...attention('/layers.0/self_attn', 'x', 'x', 'x', 'h0'), fused]), 1), (e: Error) => e instanceof AttentionUnavailableError && /fused MultiHeadAttention/.test(e.message));
  });

  it('uses names over graph order, and says so when a layer has a third Softmax', () => {
    const g = graph([...attention('/layers.0/encoder_attn', 'x', 'enc', 'enc', 'h0'), ...attention('/layers.0/self_attn', 'h0', 'h0', 'h0', 'h1')]);
    const [l0] = findCrossAttentionTensors(g, 1);
    assert.equal(l0!.cross.nodeName, '/layers.0/encoder_attn/Softmax');
    assert.equal(l0!.self.nodeName, '/layers.0/self_attn/Softmax');
    const three = graph([...g.nodes, ...attention('/layers.0/other', 'h1', 'h1', 'h1', 'h2')]);
    assert.throws(() => findCrossAttentionTensors(three, 1), /Decoder layer 0 has 3 attention Softmax nodes/);
  });
});

// ---- search bookkeeping on a scripted decoder ------------------------------------------------------------------

const V = 6;
const EOS = 1;

/** A decoder whose next-token log-probabilities depend only on the last token, from a table. */
function tableDecoder(table: Record<number, number[]>): DecoderStepper & { calls: number } {
  let rows: number[][] = [];
  const d = {
    vocabSize: V,
    calls: 0,
    async next(tokens: readonly number[], parents: readonly number[] | null): Promise<Float32Array> {
      d.calls++;
      rows = parents === null && rows.length === 0 ? tokens.map((t) => [t]) : tokens.map((t, r) => [...rows[parents ? parents[r]! : r]!, t]);
      const out = new Float32Array(tokens.length * V);
      rows.forEach((row, r) => {
        const probs = table[row.at(-1)!] ?? [0.1, 0.1, 0.2, 0.2, 0.2, 0.2];
        probs.forEach((p, v) => (out[r * V + v] = Math.log(p)));
      });
      return out;
    },
  };
  return d;
}

const options = (o: Partial<ResolvedGenerationOptions> = {}): ResolvedGenerationOptions => ({
  maxNewTokens: 6,
  minNewTokens: 0,
  numBeams: 2,
  lengthPenalty: 1,
  earlyStopping: false,
  noRepeatNgramSize: 0,
  repetitionPenalty: 1,
  prefix: '',
  maxInputTokens: 512,
  useCache: true,
  decoderStartTokenId: 0,
  eosTokenIds: [EOS],
  forcedBosTokenId: undefined,
  forcedEosTokenId: undefined,
  ...o,
});

describe('search bookkeeping', () => {
  // From the start token: 2 (0.5) or 3 (0.4). After 2: eos likely (0.6). After 3: 4 (0.9). After 4: eos (0.9).
  const table = {
    0: [0.0, 0.05, 0.5, 0.4, 0.03, 0.02],
    2: [0.0, 0.6, 0.1, 0.1, 0.1, 0.1],
    3: [0.0, 0.02, 0.02, 0.02, 0.9, 0.04],
    4: [0.0, 0.9, 0.02, 0.02, 0.02, 0.04],
  };

  it('greedy takes the argmax each step and stops at eos', async () => {
    const r = await greedySearch(tableDecoder(table), options({ numBeams: 1 }));
    assert.deepEqual(r.ids, [0, 2, 1]);
    assert.equal(r.stoppedBy, 'eos');
  });

  it('beam search finds the path greedy misses, and length penalty decides between lengths', async () => {
    // [0,2,1]: log .5 + log .6 = -1.204 over 2 tokens; [0,3,4,1]: log .4 + log .9 + log .9 = -1.127 over 3.
    const r = await beamSearch(tableDecoder(table), options());
    assert.deepEqual(r.ids, [0, 3, 4, 1]);
    assert.ok(Math.abs(r.score! - (Math.log(0.4) + 2 * Math.log(0.9)) / 3) < 1e-6);
    const short = await beamSearch(tableDecoder(table), options({ lengthPenalty: -2 }));
    assert.deepEqual(short.ids, [0, 2, 1], 'a negative length penalty favours the shorter hypothesis');
  });

  it('early stopping true ends at the first full set of hypotheses; "never" keeps searching longer', async () => {
    // Step 2 finishes [0,2,eos]; step 3 finishes [0,3,4,eos]: two hypotheses for two beams.
    const eager = tableDecoder(table);
    const r = await beamSearch(eager, options({ earlyStopping: true }));
    assert.equal(eager.calls, 3);
    assert.deepEqual(r.hypotheses!.map((h) => h.ids), [[0, 3, 4, 1], [0, 2, 1]]);
    // false: -1.204/2 (worst kept) < -1.127/3 (best this step) so it goes on; 'never' measures at max length.
    const heuristic = tableDecoder(table);
    await beamSearch(heuristic, options({ earlyStopping: false }));
    const patient = tableDecoder(table);
    await beamSearch(patient, options({ earlyStopping: 'never' }));
    assert.ok(heuristic.calls > 3 && patient.calls >= heuristic.calls, `${heuristic.calls} / ${patient.calls} decoder calls`);
  });

  it('streams the best running beam and reports every step', async () => {
    const steps: number[][] = [];
    await beamSearch(tableDecoder(table), options(), { onStep: (ids) => steps.push([...ids]) });
    assert.deepEqual(steps[0], [0, 2]);
    assert.ok(steps.every((s, i) => s.length === i + 2));
  });

  it('processors: repetition penalty, n-gram bans, min length, forced BOS/EOS', () => {
    const s = Float32Array.of(1, -1, 2, -2, 0.5, 0);
    processScores(s, [0, 2, 3], options({ repetitionPenalty: 2 }));
    assert.deepEqual([...s], [0.5, -1, 1, -4, 0.5, 0]);
    assert.deepEqual(bannedNgramTokens([0, 2, 3, 2], 2), [3]);
    assert.deepEqual(bannedNgramTokens([0, 2, 3, 4, 2, 3], 3), [4]);
    assert.deepEqual(bannedNgramTokens([0, 2], 3), []);
    const m = new Float32Array(V);
    processScores(m, [0, 2], options({ minNewTokens: 2 }));
    assert.equal(m[EOS], -Infinity);
    const b = new Float32Array(V);
    processScores(b, [0], options({ forcedBosTokenId: 4 }));
    assert.deepEqual([...b], [-Infinity, -Infinity, -Infinity, -Infinity, 0, -Infinity]);
    const e = new Float32Array(V);
    processScores(e, [0, 2, 2, 2, 2, 2], options({ forcedEosTokenId: EOS }));
    assert.equal(e[EOS], 0);
    assert.equal(e[2], -Infinity);
  });
});

describe('generation defaults', () => {
  const facts = (config: Record<string, unknown>, generationConfig: Record<string, unknown> = {}, maxDecoderTokens?: number): ModelGenerationFacts => ({
    config,
    generationConfig,
    maxInputTokens: 1024,
    maxDecoderTokens,
    padTokenId: 1,
  });

  it('follows a distilbart-cnn-style generation_config (lengths count the start token)', () => {
    const o = resolveGenerationOptions(
      facts({ eos_token_id: 2, decoder_start_token_id: 2 }, { max_length: 142, min_length: 56, num_beams: 4, length_penalty: 2, no_repeat_ngram_size: 3, early_stopping: true, forced_bos_token_id: 0, forced_eos_token_id: 2 }, 1024),
    );
    assert.deepEqual(
      [o.maxNewTokens, o.minNewTokens, o.numBeams, o.lengthPenalty, o.noRepeatNgramSize, o.earlyStopping, o.forcedBosTokenId, o.forcedEosTokenId, o.prefix],
      [141, 55, 4, 2, 3, true, 0, 2, ''],
    );
  });

  it("takes t5's summarization task parameters and prefix; the request wins over everything", () => {
    const config = { eos_token_id: 1, decoder_start_token_id: 0, task_specific_params: { summarization: { prefix: 'summarize: ', max_length: 200, min_length: 30, num_beams: 4 } } };
    const o = resolveGenerationOptions(facts(config));
    assert.deepEqual([o.prefix, o.maxNewTokens, o.minNewTokens, o.numBeams, o.decoderStartTokenId], ['summarize: ', 199, 29, 4, 0]);
    const r = resolveGenerationOptions(facts(config), { prefix: '', maxNewTokens: 20, numBeams: 1, maxInputTokens: 5000 });
    assert.deepEqual([r.prefix, r.maxNewTokens, r.minNewTokens, r.numBeams, r.maxInputTokens], ['', 20, 20, 1, 1024]);
  });

  it('caps new tokens at learned decoder positions and fails without eos / start ids', () => {
    assert.equal(resolveGenerationOptions(facts({ eos_token_id: 2, decoder_start_token_id: 2 }, {}, 64), { maxNewTokens: 500 }).maxNewTokens, 63);
    assert.equal(resolveGenerationOptions(facts({ eos_token_id: 2, decoder_start_token_id: 2 })).maxNewTokens, 128);
    assert.throws(() => resolveGenerationOptions(facts({ decoder_start_token_id: 2 })), /no eos_token_id/);
  });
});

describe('seq2seq model folders', () => {
  it('the fixtures hold every file the downloader would fetch, and are recognised as seq2seq', async () => {
    for (const model of ['tiny-t5', 'tiny-bart']) {
      for (const dtype of ['fp32', 'q8'] as const) {
        const { required } = seq2seqFiles(dtype);
        for (const f of required) assert.ok(fs.existsSync(path.join(fixtureModel(model), f)), `${model}: ${f}`);
        // The decoder without cache, fetched separately for cross-attention (q8 falls back to the fp32 file).
        assert.ok(fs.existsSync(path.join(fixtureModel(model), 'onnx/decoder_model.onnx')));
      }
      assert.equal(await isSeq2SeqFolder(fixtureModel(model)), true);
    }
    assert.deepEqual(seq2seqFiles('fp32').optional, ['generation_config.json', 'tokenizer_config.json', 'special_tokens_map.json']);
    assert.equal(await isSeq2SeqFolder(fixtureModel('tiny-bert')), false);
    assert.equal(await isSeq2SeqFolder('/nonexistent'), false);
  });
});

describe('source token ranges', () => {
  it('byte-level pieces map to their characters, multi-byte characters included', () => {
    // "Café ü" in GPT-2 byte-level form: 'Caf', 'Ã©' (é), 'Ġ', 'Ã¼' (ü) — é and ü are two bytes each.
    const spans = pieceSpans('Café ü', ['<s>', 'Caf', 'Ã©', 'Ġ', 'Ã¼', '</s>'], { encoding: 'byteLevel', specialTokens: new Set(['<s>', '</s>']) });
    assert.deepEqual(spans.map((s) => [s.text, s.start, s.end, s.special]), [['<s>', 0, 0, true], ['Caf', 0, 3, false], ['Ã©', 3, 4, false], ['Ġ', 4, 5, false], ['Ã¼', 5, 6, false], ['</s>', 6, 6, true]]);
    // A piece holding half of a character covers the whole character.
    const half = pieceSpans('é', ['Ã', '©'], { encoding: 'byteLevel', specialTokens: new Set() });
    assert.deepEqual(half.map((s) => [s.start, s.end]), [[0, 1], [0, 1]]);
  });

  it('SentencePiece pieces skip collapsed spaces, follow NFKC and give <unk> a character', () => {
    const text = 'ﬁne  day ☃!';
    const spans = pieceSpans(text, ['▁fine', '▁', 'day', '▁', '<unk>', '!', '</s>'], { encoding: 'sentencePiece', specialTokens: new Set(['</s>']), unknownToken: '<unk>' });
    assert.deepEqual(spans.map((s) => text.slice(s.start, s.end)), ['ﬁne', '  ', 'day', ' ', '☃', '!', '']);
  });
});

describe('text streaming', () => {
  it('holds back trailing spaces and partial characters so deltas only ever append', () => {
    const pieces: Record<number, string> = { 0: '', 5: 'Hello', 6: ' ', 7: 'wor', 8: 'ld', 9: '\uFFFD', 10: '!' };
    // ids 9 then 10 stand for the two halves of "é" in a byte-level vocabulary.
    const decode = (ids: readonly number[]): string => {
      const s = ids.map((i) => pieces[i] ?? '').join('');
      return s.replace('\uFFFD!', 'é');
    };
    const stream = new TextStream(decode);
    const seq = [0, 5, 6, 7, 8, 9, 10];
    const updates = seq.slice(1).map((_, k) => stream.update(seq.slice(0, k + 2), k + 1, k + 2 === seq.length));
    assert.deepEqual(updates.map((u) => u.delta), ['Hello', '', ' wor', 'ld', '', 'é']);
    assert.ok(updates.every((u) => !u.replace));
    assert.equal(updates.map((u) => u.delta).join(''), 'Hello worldé');
    const switched = stream.update([0, 7, 8], 2, false);
    assert.equal(switched.replace, true);
    assert.deepEqual(switched.newIds, [7, 8]);
  });
});
