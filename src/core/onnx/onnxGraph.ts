import { concatBytes, encodeBytesField, encodeStringField, ProtoReader, WireType } from './protobuf';

/** The parts of an ONNX node that graph analysis needs. */
export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  /** '' for the default ONNX domain. */
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Integer attributes by name (e.g. Softmax `axis`). */
  readonly intAttributes: ReadonlyMap<string, number>;
}

export interface OnnxGraphSummary {
  readonly nodes: readonly OnnxNode[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Opset version of the default domain, or undefined when the model does not declare it. */
  readonly opset: number | undefined;
}

// Field numbers from onnx.proto3.
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;
const GRAPH_NODE = 1;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTRIBUTE_NAME = 1;
const ATTRIBUTE_INT = 3;
const VALUE_INFO_NAME = 1;

export class OnnxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

/** Reads the node list, graph inputs/outputs and opset of a serialised ModelProto without copying its weights. */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraphSummary {
  const model = new ProtoReader(bytes);
  const nodes: OnnxNode[] = [];
  const inputs: string[] = [];
  const outputs: string[] = [];
  let opset: number | undefined;
  let sawGraph = false;
  try {
    for (const f of model.fields()) {
      if (f.field === MODEL_GRAPH && f.wire === WireType.LengthDelimited) {
        sawGraph = true;
        const graph = model.sub(f);
        for (const g of graph.fields()) {
          if (g.wire !== WireType.LengthDelimited) continue;
          if (g.field === GRAPH_NODE) nodes.push(readNode(graph.sub(g)));
          else if (g.field === GRAPH_INPUT) inputs.push(readValueInfoName(graph.sub(g)));
          else if (g.field === GRAPH_OUTPUT) outputs.push(readValueInfoName(graph.sub(g)));
        }
      } else if (f.field === MODEL_OPSET_IMPORT && f.wire === WireType.LengthDelimited) {
        const entry = model.sub(f);
        let domain = '';
        let version: number | undefined;
        for (const o of entry.fields()) {
          if (o.field === OPSET_DOMAIN && o.wire === WireType.LengthDelimited) domain = entry.string(o);
          else if (o.field === OPSET_VERSION && o.wire === WireType.Varint) version = o.value;
        }
        if (domain === '' || domain === 'ai.onnx') opset = version;
      }
    }
  } catch (e) {
    throw new OnnxFormatError(`not a valid ONNX model: ${(e as Error).message}`);
  }
  if (!sawGraph) throw new OnnxFormatError('not a valid ONNX model: no graph found');
  return { nodes, inputs, outputs, opset };
}

function readNode(r: ProtoReader): OnnxNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const intAttributes = new Map<string, number>();
  let name = '';
  let opType = '';
  let domain = '';
  for (const f of r.fields()) {
    if (f.wire === WireType.LengthDelimited) {
      switch (f.field) {
        case NODE_INPUT: inputs.push(r.string(f)); break;
        case NODE_OUTPUT: outputs.push(r.string(f)); break;
        case NODE_NAME: name = r.string(f); break;
        case NODE_OP_TYPE: opType = r.string(f); break;
        case NODE_DOMAIN: domain = r.string(f); break;
        case NODE_ATTRIBUTE: {
          const a = r.sub(f);
          let attrName = '';
          let value: number | undefined;
          for (const af of a.fields()) {
            if (af.field === ATTRIBUTE_NAME && af.wire === WireType.LengthDelimited) attrName = a.string(af);
            else if (af.field === ATTRIBUTE_INT && af.wire === WireType.Varint) value = af.value;
          }
          if (value !== undefined) intAttributes.set(attrName, value);
          break;
        }
      }
    }
  }
  return { name, opType, domain: domain === 'ai.onnx' ? '' : domain, inputs, outputs, intAttributes };
}

function readValueInfoName(r: ProtoReader): string {
  for (const f of r.fields()) {
    if (f.field === VALUE_INFO_NAME && f.wire === WireType.LengthDelimited) return r.string(f);
  }
  return '';
}

/**
 * Returns model bytes that declare `names` as additional graph outputs. Protobuf merges a repeated field that
 * appears again later in the stream, so a second ModelProto holding only `graph.output` entries is appended
 * instead of re-serialising the (possibly large) original.
 */
export function withExtraOutputs(bytes: Uint8Array, names: readonly string[]): Uint8Array {
  if (names.length === 0) return bytes;
  const outputs = names.map((n) => encodeBytesField(GRAPH_OUTPUT, encodeStringField(VALUE_INFO_NAME, n)));
  const graph = encodeBytesField(MODEL_GRAPH, concatBytes(outputs));
  return concatBytes([bytes, graph]);
}
