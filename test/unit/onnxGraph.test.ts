import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findAttentionTensors, AttentionUnavailableError } from '../../src/core/attention/softmaxDiscovery';
import { readOnnxGraph, withExtraOutputs, type OnnxGraphSummary, type OnnxNode } from '../../src/core/onnx/onnxGraph';
import { fixtureModel } from '../harness/paths';

const read = (model: string, file: string): Uint8Array => fs.readFileSync(path.join(fixtureModel(model), 'onnx', file));

function node(opType: string, inputs: string[], outputs: string[], extra: Partial<OnnxNode> = {}): OnnxNode {
  return { name: outputs[0] ?? opType, opType, domain: '', inputs, outputs, intAttributes: new Map(), ...extra };
}

function graph(nodes: OnnxNode[], opset = 14): OnnxGraphSummary {
  return { nodes, inputs: ['x'], outputs: ['y'], opset };
}

describe('ONNX graph reading', () => {
  it('reads nodes, inputs and outputs of a real BERT export', () => {
    const g = readOnnxGraph(read('tiny-bert', 'model.onnx'));
    assert.deepEqual(g.inputs, ['input_ids', 'attention_mask', 'token_type_ids']);
    assert.deepEqual(g.outputs, ['last_hidden_state']);
    assert.equal(g.opset, 14);
    assert.equal(g.nodes.filter((n) => n.opType === 'Softmax').length, 2);
    const softmax = g.nodes.find((n) => n.opType === 'Softmax')!;
    assert.equal(softmax.intAttributes.get('axis'), -1, 'negative int64 attributes decode as negative numbers');
  });

  it('appends graph outputs that a re-read sees, without touching the original bytes', () => {
    const bytes = read('tiny-bert', 'model.onnx');
    const patched = withExtraOutputs(bytes, ['a', '/encoder/layer.0/attention/self/Softmax_output_0']);
    assert.ok(Buffer.from(patched.subarray(0, bytes.length)).equals(Buffer.from(bytes)));
    assert.deepEqual(readOnnxGraph(patched).outputs, ['last_hidden_state', 'a', '/encoder/layer.0/attention/self/Softmax_output_0']);
  });

  it('rejects bytes that are not an ONNX model', () => {
    assert.throws(() => readOnnxGraph(new TextEncoder().encode('{"not": "onnx"}')), /not a valid ONNX model/);
    assert.throws(() => readOnnxGraph(new Uint8Array([0x3a, 0xff, 0xff])), /not a valid ONNX model/);
  });
});

describe('attention Softmax discovery', () => {
  for (const [model, layers] of [['tiny-bert', 2], ['tiny-bert-wide', 3]] as const) {
    for (const file of ['model.onnx', 'model_quantized.onnx']) {
      it(`finds one Softmax per layer, in layer order, in ${model}/${file}`, () => {
        const found = findAttentionTensors(readOnnxGraph(read(model, file)), layers);
        assert.deepEqual(
          found.map((t) => t.output),
          Array.from({ length: layers }, (_, i) => `/encoder/layer.${i}/attention/self/Softmax_output_0`),
        );
      });
    }
  }

  it('says clearly that a fused-attention model exposes no attention', () => {
    const g = readOnnxGraph(read('fused-attention', 'model.onnx'));
    assert.throws(() => findAttentionTensors(g, 2), (e: Error) => e instanceof AttentionUnavailableError && /does not expose attention/.test(e.message) && /fused Attention/.test(e.message));
  });

  it('follows the probabilities through Where/Cast/Dropout to the MatMul with V', () => {
    const g = graph([
      node('Softmax', ['s'], ['p'], { name: 'attn/Softmax' }),
      node('Where', ['mask', 'zero', 'p'], ['pw']),
      node('Cast', ['pw'], ['pc']),
      node('Dropout', ['pc'], ['pd', 'dmask']),
      node('MatMul', ['pd', 'v'], ['ctx']),
    ]);
    assert.deepEqual(findAttentionTensors(g).map((t) => t.output), ['p']);
  });

  it('ignores Softmax nodes that are not attention (other axis, B input of MatMul, other consumers)', () => {
    const g = graph([
      node('Softmax', ['a'], ['p1'], { intAttributes: new Map([['axis', 1]]) }),
      node('MatMul', ['p1', 'v'], ['o1']),
      node('Softmax', ['b'], ['p2']),
      node('MatMul', ['v', 'p2'], ['o2']),
      node('Softmax', ['c'], ['p3']),
      node('Add', ['p3', 'x'], ['o3']),
      node('Softmax', ['d'], ['p4'], { name: 'real' }),
      node('MatMul', ['p4', 'v'], ['o4']),
    ]);
    assert.deepEqual(findAttentionTensors(g).map((t) => t.nodeName), ['real']);
  });

  it('orders by the layer number in node names, and by graph order when names have none', () => {
    const named = graph([
      node('Softmax', ['a'], ['p10'], { name: '/encoder/layer.10/attention/self/Softmax' }),
      node('MatMul', ['p10', 'v'], ['o10']),
      node('Softmax', ['b'], ['p2'], { name: '/encoder/layer.2/attention/self/Softmax' }),
      node('MatMul', ['p2', 'v'], ['o2']),
    ]);
    assert.deepEqual(findAttentionTensors(named).map((t) => t.layer), [2, 10]);
    const anonymous = graph([
      node('Softmax', ['a'], ['second'], { name: 'Softmax_9' }),
      node('MatMul', ['second', 'v'], ['o1']),
      node('Softmax', ['b'], ['first'], { name: 'Softmax_1' }),
      node('MatMul', ['first', 'v'], ['o2']),
    ]);
    assert.deepEqual(findAttentionTensors(anonymous).map((t) => t.output), ['second', 'first']);
  });

  it('refuses to guess when the count differs from the configured layers', () => {
    const g = readOnnxGraph(read('tiny-bert', 'model.onnx'));
    assert.throws(() => findAttentionTensors(g, 3), /Found 2 attention Softmax nodes but the model config declares 3 layers/);
  });
});
