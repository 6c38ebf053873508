/**
 * The few protobuf primitives BERT Lens needs to read an ONNX graph's node list and to append graph outputs.
 * Large fields (initializers, raw tensor data) are skipped by length, never copied.
 */

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

/** One field of a message: its number, wire type and, for length-delimited fields, the byte range of its payload. */
export interface Field {
  readonly field: number;
  readonly wire: WireType;
  /** Varint value (Varint), or the payload start offset (LengthDelimited). */
  readonly value: number;
  /** Payload end offset (LengthDelimited only). */
  readonly end: number;
}

export class ProtobufError extends Error {}

export class ProtoReader {
  constructor(
    readonly bytes: Uint8Array,
    private pos = 0,
    readonly limit = bytes.length,
  ) {}

  /** Iterates the fields of the message between the reader's position and its limit. */
  *fields(): Generator<Field> {
    while (this.pos < this.limit) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wire = (key & 7) as WireType;
      switch (wire) {
        case WireType.Varint:
          yield { field, wire, value: this.varint(), end: this.pos };
          break;
        case WireType.Fixed64:
          this.skip(8);
          break;
        case WireType.Fixed32:
          this.skip(4);
          break;
        case WireType.LengthDelimited: {
          const length = this.varint();
          const start = this.pos;
          this.skip(length);
          yield { field, wire, value: start, end: start + length };
          break;
        }
        default:
          throw new ProtobufError(`unsupported protobuf wire type ${wire as number} at byte ${this.pos}`);
      }
    }
  }

  /** A reader over the payload of a length-delimited field. */
  sub(f: Field): ProtoReader {
    return new ProtoReader(this.bytes, f.value, f.end);
  }

  string(f: Field): string {
    return utf8.decode(this.bytes.subarray(f.value, f.end));
  }

  /** Reads a varint; values of more than 7 bytes are read as two's complement int64 (negative attribute ints). */
  private varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.limit) throw new ProtobufError('truncated protobuf varint');
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
    let big = BigInt(result);
    for (let i = 7; i < 10; i++) {
      if (this.pos >= this.limit) throw new ProtobufError('truncated protobuf varint');
      const b = this.bytes[this.pos++]!;
      big += BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return Number(BigInt.asIntN(64, big));
    }
    throw new ProtobufError('malformed protobuf varint');
  }

  private skip(n: number): void {
    if (this.pos + n > this.limit) throw new ProtobufError('truncated protobuf message');
    this.pos += n;
  }
}

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function encodeVarint(value: number, out: number[]): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Encodes a length-delimited field holding `payload`. */
export function encodeBytesField(field: number, payload: Uint8Array): Uint8Array {
  const head: number[] = [];
  encodeVarint(field * 8 + WireType.LengthDelimited, head);
  encodeVarint(payload.length, head);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

export function encodeStringField(field: number, value: string): Uint8Array {
  return encodeBytesField(field, utf8Encoder.encode(value));
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
