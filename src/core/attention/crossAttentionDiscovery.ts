import type { OnnxGraphSummary } from '../onnx/onnxGraph';
import { AttentionUnavailableError, findAttentionTensors, type AttentionTensor } from './softmaxDiscovery';

/** One decoder layer's attention-probability tensors. */
export interface DecoderAttentionTensors {
  readonly layer: number;
  readonly self: AttentionTensor;
  readonly cross: AttentionTensor;
}

/** Name fragments of the cross-attention block in common exports (T5, BART/Marian/Pegasus/mBART, Whisper, generic). */
const CROSS = /EncDecAttention|encoder_attn|cross_?attn|cross_?attention|crossattention|enc_dec_attn|encoder_decoder_attention/i;
const SELF = /SelfAttention|self_attn|self_attention|selfattention/i;

/**
 * Finds the self- and cross-attention probabilities of every layer of a seq2seq decoder graph
 * (`decoder_model.onnx`): the attention Softmax nodes found structurally by {@link findAttentionTensors}, told apart
 * by the block names exports give them (`…/layer.1/EncDecAttention/Softmax` in T5,
 * `…/layers.N/encoder_attn/Softmax` in BART), or, when names say nothing, by position: every decoder layer runs
 * self-attention first and cross-attention second. Layers are numbered by `block.N` / `layers.N` / `layer.N`
 * (the first such part of the name).
 *
 * @throws AttentionUnavailableError for fused attention, a graph with Softmax nodes inside subgraphs only (a
 *   merged decoder), or counts that do not match `decoderLayers`.
 */
export function findCrossAttentionTensors(graph: OnnxGraphSummary, decoderLayers: number): DecoderAttentionTensors[] {
  let found: AttentionTensor[];
  try {
    found = findAttentionTensors(graph);
  } catch (e) {
    if (e instanceof AttentionUnavailableError && graph.nodes.some((n) => n.opType === 'If')) {
      throw new AttentionUnavailableError(
        'This decoder runs inside an If node (a merged decoder), whose attention cannot be exposed; cross-attention needs onnx/decoder_model.onnx.',
      );
    }
    throw e;
  }
  const withLayer = found.map((t, order) => ({ t, order, layer: decoderLayerNumber(t.nodeName) ?? decoderLayerNumber(t.output) }));
  const named = withLayer.map((x) => ({ ...x, kind: CROSS.test(x.t.nodeName) ? 'cross' : SELF.test(x.t.nodeName) ? 'self' : undefined }));

  const byLayer = new Map<number, { self?: AttentionTensor; cross?: AttentionTensor; unnamed: AttentionTensor[] }>();
  if (named.every((x) => x.layer !== undefined)) {
    for (const x of named) {
      let entry = byLayer.get(x.layer!);
      if (!entry) byLayer.set(x.layer!, (entry = { unnamed: [] }));
      if (x.kind === 'cross' && !entry.cross) entry.cross = x.t;
      else if (x.kind === 'self' && !entry.self) entry.self = x.t;
      else entry.unnamed.push(x.t);
    }
  } else {
    // No layer numbers: consecutive pairs in graph order.
    if (found.length % 2 !== 0) throw mismatch(found.length, decoderLayers);
    for (let i = 0; i < found.length; i += 2) byLayer.set(i / 2, { unnamed: [found[i]!, found[i + 1]!] });
  }

  const layers: DecoderAttentionTensors[] = [];
  for (const [layer, entry] of [...byLayer].sort((a, b) => a[0] - b[0])) {
    const rest = [...entry.unnamed];
    const self = entry.self ?? rest.shift();
    const cross = entry.cross ?? rest.shift();
    if (!self || !cross || rest.length > 0) {
      throw new AttentionUnavailableError(
        `Decoder layer ${layer} has ${[entry.self, entry.cross, ...entry.unnamed].filter(Boolean).length} attention Softmax nodes; ` +
          'expected exactly one self-attention and one cross-attention.',
      );
    }
    layers.push({ layer, self, cross });
  }
  if (layers.length !== decoderLayers) throw mismatch(layers.length * 2, decoderLayers);
  return layers;
}

function mismatch(count: number, layers: number): AttentionUnavailableError {
  return new AttentionUnavailableError(
    `Found ${count} attention Softmax nodes in the decoder but the model config declares ${layers} decoder layers ` +
      `(${layers * 2} expected: self- and cross-attention per layer); cannot tell which nodes are the cross-attention.`,
  );
}

/** The first `block.N`, `layers.N`, `layer.N` or `h.N` part of a node name (T5's `layer.1` after `block.N` is a sub-layer). */
function decoderLayerNumber(name: string): number | undefined {
  const m = /(?:^|[/._])(?:block|blocks|layers|layer|h)[._](\d+)(?:[/._]|$)/.exec(name);
  return m ? Number(m[1]) : undefined;
}
