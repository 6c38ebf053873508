import type { OnnxGraphSummary, OnnxNode } from '../onnx/onnxGraph';

/** One attention-probability tensor in a graph: the output of a Softmax feeding an attention MatMul. */
export interface AttentionTensor {
  readonly nodeName: string;
  readonly output: string;
  /** Layer index parsed from the node name (`layer.3`, `layers_3`, `block.3`), or undefined when the name has none. */
  readonly layer: number | undefined;
}

export class AttentionUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttentionUnavailableError';
  }
}

/** Contrib ops that compute attention internally and never materialise the probabilities. */
const FUSED_ATTENTION_OPS = new Set([
  'Attention',
  'MultiHeadAttention',
  'PackedAttention',
  'PackedMultiHeadAttention',
  'GroupQueryAttention',
  'DecoderAttention',
  'DecoderMaskedMultiHeadAttention',
  'DecoderMaskedSelfAttention',
  'QAttention',
  'LongformerAttention',
  'SparseAttention',
  'PagedAttention',
]);

/** Ops a probability tensor may pass through between the Softmax and the MatMul with the values. */
const PASS_THROUGH_OPS = new Set(['Where', 'Cast', 'Identity', 'Dropout']);
const MAX_PASS_THROUGH = 4;

/**
 * Finds the attention probabilities of a Transformer graph structurally: Softmax nodes over the last axis whose
 * output (possibly through Where/Cast/Identity/Dropout) is the first input of a MatMul. Results are ordered by the
 * layer number in the node names, or by graph order when names carry none.
 *
 * @throws AttentionUnavailableError for fused attention kernels, or when the count differs from `expectedLayers`.
 */
export function findAttentionTensors(graph: OnnxGraphSummary, expectedLayers?: number): AttentionTensor[] {
  const fused = graph.nodes.find((n) => FUSED_ATTENTION_OPS.has(n.opType) && n.domain !== '');
  if (fused) {
    throw new AttentionUnavailableError(
      `This model does not expose attention: it computes attention in a fused ${fused.opType} kernel ` +
        `(${fused.domain}), which never produces the attention probabilities. Use an unoptimised export of the model.`,
    );
  }
  const consumers = new Map<string, { node: OnnxNode; index: number }[]>();
  for (const node of graph.nodes) {
    node.inputs.forEach((input, index) => {
      let list = consumers.get(input);
      if (!list) consumers.set(input, (list = []));
      list.push({ node, index });
    });
  }
  const feedsMatMul = (tensor: string, hops: number): boolean =>
    (consumers.get(tensor) ?? []).some(({ node, index }) => {
      if (node.domain !== '') return false;
      if (node.opType === 'MatMul') return index === 0;
      if (hops < MAX_PASS_THROUGH && PASS_THROUGH_OPS.has(node.opType)) return feedsMatMul(node.outputs[0] ?? '', hops + 1);
      return false;
    });

  const defaultAxis = graph.opset !== undefined && graph.opset < 13 ? 1 : -1;
  const found: AttentionTensor[] = [];
  for (const node of graph.nodes) {
    if (node.opType !== 'Softmax' || node.domain !== '') continue;
    const axis = node.intAttributes.get('axis') ?? defaultAxis;
    if (axis !== -1 && axis !== 3) continue;
    const output = node.outputs[0];
    if (!output || !feedsMatMul(output, 0)) continue;
    found.push({ nodeName: node.name, output, layer: layerNumber(node.name) ?? layerNumber(output) });
  }

  if (found.length === 0) {
    throw new AttentionUnavailableError(
      'This model does not expose attention: no Softmax over attention scores feeds a MatMul in its graph.',
    );
  }
  const ordered = found.every((t) => t.layer !== undefined)
    ? [...found].sort((a, b) => a.layer! - b.layer!)
    : found;
  if (expectedLayers !== undefined && ordered.length !== expectedLayers) {
    throw new AttentionUnavailableError(
      `Found ${ordered.length} attention Softmax nodes but the model config declares ${expectedLayers} layers; ` +
        'cannot tell which nodes are the attention of each layer.',
    );
  }
  return ordered;
}

function layerNumber(name: string): number | undefined {
  const m = /(?:^|[/._])(?:layer|layers|block|h)[._](\d+)(?:[/._]|$)/.exec(name);
  return m ? Number(m[1]) : undefined;
}
