/**
 * Writes small ONNX ModelProto bytes: nodes, float/int initializers (raw little-endian data), typed graph inputs
 * and outputs. Just enough to express a Transformer encoder for onnxruntime; field numbers from onnx.proto3.
 *
 * @example
 *   const g = new OnnxGraphBuilder();
 *   g.input('x', 'float', ['batch', 4]);
 *   const y = g.node('Relu', [g.input('x', ...)]);
 *   g.output(y, 'float', ['batch', 4]);
 *   const bytes = g.toModel({ opset: 17 });
 */

export type OnnxElemType = 'float' | 'int32' | 'int64';
const ELEM_TYPE: Record<OnnxElemType, number> = { float: 1, int32: 6, int64: 7 };

/** Attribute values: numbers are ints unless wrapped with {@link float}; arrays are ints. */
export type OnnxAttribute = number | readonly number[] | { readonly float: number };
export const float = (value: number): { readonly float: number } => ({ float: value });

class Writer {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private varint(value: number | bigint): void {
    const out: number[] = [];
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, value: number): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float32(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, payload: Uint8Array): this {
    this.key(field, 2);
    this.varint(payload.length);
    this.push(payload);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const p of this.parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}

function valueInfo(name: string, type: OnnxElemType, shape: readonly (number | string)[]): Writer {
  const dims = new Writer();
  for (const d of shape) dims.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensorType = new Writer().int(1, ELEM_TYPE[type]).message(2, dims);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

export class OnnxGraphBuilder {
  private readonly nodes: Writer[] = [];
  private readonly initializers: Writer[] = [];
  private readonly inputs: Writer[] = [];
  private readonly outputs: Writer[] = [];
  private readonly names = new Map<string, number>();

  /** A fresh value name starting with `base`. */
  name(base: string): string {
    const n = this.names.get(base) ?? 0;
    this.names.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  input(name: string, type: OnnxElemType, shape: readonly (number | string)[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: OnnxElemType, shape: readonly (number | string)[]): void {
    this.outputs.push(valueInfo(name, type, shape));
  }

  /** A float32 initializer; `data` is copied into the model bytes. */
  floats(name: string, shape: readonly number[], data: Float32Array | readonly number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const count = shape.reduce((a, b) => a * b, 1);
    if (values.length !== count) throw new Error(`initializer ${name}: ${values.length} values for shape [${shape.join(', ')}]`);
    const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    return this.initializer(name, 'float', shape, raw);
  }

  int64s(name: string, shape: readonly number[], data: readonly number[]): string {
    return this.initializer(name, 'int64', shape, new Uint8Array(BigInt64Array.from(data.map(BigInt)).buffer));
  }

  private initializer(name: string, type: OnnxElemType, shape: readonly number[], raw: Uint8Array): string {
    const unique = this.name(name);
    const t = new Writer();
    for (const d of shape) t.int(1, d);
    t.int(2, ELEM_TYPE[type]).string(8, unique).bytes(9, raw);
    this.initializers.push(t);
    return unique;
  }

  /** Adds a node and returns its output names (one per `outputs`, default one named after the op). */
  nodeMulti(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}, name?: string): string[] {
    const outs = outputs.map((o) => this.name(o));
    const w = new Writer();
    for (const i of inputs) w.string(1, i);
    for (const o of outs) w.string(2, o);
    w.string(3, name ?? outs[0]!).string(4, opType);
    for (const [key, value] of Object.entries(attributes)) {
      const a = new Writer().string(1, key);
      if (typeof value === 'number') a.int(3, value).int(20, 2);
      else if (Array.isArray(value)) {
        for (const v of value as readonly number[]) a.int(8, v);
        a.int(20, 7);
      } else a.float32(2, (value as { float: number }).float).int(20, 1);
      w.message(5, a);
    }
    this.nodes.push(w);
    return outs;
  }

  node(opType: string, inputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}, output?: string): string {
    return this.nodeMulti(opType, inputs, [output ?? opType], attributes)[0]!;
  }

  toModel({ opset, graphName = 'main', producer = 'bert-lens' }: { opset: number; graphName?: string; producer?: string }): Uint8Array {
    const graph = new Writer();
    for (const n of this.nodes) graph.message(1, n);
    graph.string(2, graphName);
    for (const t of this.initializers) graph.message(5, t);
    for (const i of this.inputs) graph.message(11, i);
    for (const o of this.outputs) graph.message(12, o);
    return new Writer()
      .int(1, 8) // ir_version
      .string(2, producer)
      .message(7, graph)
      .message(8, new Writer().string(1, '').int(2, opset))
      .finish();
  }
}
