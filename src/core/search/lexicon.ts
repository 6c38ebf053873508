/**
 * The stored form of a segment's lexical index, so opening an index does not re-tokenise every passage:
 * per passage (in the order of the segment's vector records) its length in terms, and per term its postings.
 *
 *   u32 passages · passages × u32 length · u32 terms ·
 *   terms × ( u16 UTF-8 length · term bytes · u32 postings · postings × ( u32 passage · u16 tf ) )
 */
import { forEachPassageTerm } from './passageText';

/** Term counts of one passage. */
export interface TermCounts {
  readonly length: number;
  readonly counts: ReadonlyMap<string, number>;
}

export function termCounts(text: string): TermCounts {
  const counts = new Map<string, number>();
  let length = 0;
  forEachPassageTerm(text, (term) => {
    counts.set(term, (counts.get(term) ?? 0) + 1);
    length++;
  });
  return { length, counts };
}

/** Collects the passages of a segment one by one (so no single step handles them all), then encodes them. */
export class LexiconBuilder {
  private readonly lengths: number[] = [];
  private readonly byTerm = new Map<string, number[]>();

  get size(): number {
    return this.lengths.length;
  }

  /** Adds the next passage. */
  add(text: string): void {
    const { length, counts } = termCounts(text);
    const passage = this.lengths.length;
    this.lengths.push(length);
    for (const [term, tf] of counts) {
      let list = this.byTerm.get(term);
      if (!list) this.byTerm.set(term, (list = []));
      list.push(passage, Math.min(tf, 0xffff));
    }
  }

  encode(): Buffer {
    let size = 4 + 4 * this.lengths.length + 4;
    const encoded: [Buffer, number[]][] = [];
    for (const [term, list] of this.byTerm) {
      const bytes = Buffer.from(term, 'utf8');
      if (bytes.length > 0xffff) continue;
      encoded.push([bytes, list]);
      size += 2 + bytes.length + 4 + (list.length / 2) * 6;
    }
    const out = Buffer.alloc(size);
    let at = out.writeUInt32LE(this.lengths.length, 0);
    for (const length of this.lengths) at = out.writeUInt32LE(length, at);
    at = out.writeUInt32LE(encoded.length, at);
    for (const [bytes, list] of encoded) {
      at = out.writeUInt16LE(bytes.length, at);
      at += bytes.copy(out, at);
      at = out.writeUInt32LE(list.length / 2, at);
      for (let i = 0; i < list.length; i += 2) {
        at = out.writeUInt32LE(list[i]!, at);
        at = out.writeUInt16LE(list[i + 1]!, at);
      }
    }
    return out;
  }
}

export interface LexiconVisitor {
  /** Length in terms of passage `passage`. */
  length(passage: number, length: number): void;
  /** A term and where it occurs: `postings` holds (passage u32, tf u16) pairs, 6 bytes each, at `offset`. */
  term(term: string, data: Buffer, offset: number, count: number): void;
}

/** Walks an encoded lexicon; throws a plain Error when it is malformed. */
export function decodeLexicon(data: Buffer, passages: number, visit: LexiconVisitor): void {
  const fail = (): never => {
    throw new Error('malformed lexicon');
  };
  if (data.length < 8) fail();
  if (data.readUInt32LE(0) !== passages) fail();
  let at = 4;
  if (at + 4 * passages + 4 > data.length) fail();
  for (let i = 0; i < passages; i++, at += 4) visit.length(i, data.readUInt32LE(at));
  const terms = data.readUInt32LE(at);
  at += 4;
  for (let t = 0; t < terms; t++) {
    if (at + 2 > data.length) fail();
    const len = data.readUInt16LE(at);
    at += 2;
    if (at + len + 4 > data.length) fail();
    const term = data.toString('utf8', at, at + len);
    at += len;
    const count = data.readUInt32LE(at);
    at += 4;
    if (at + count * 6 > data.length) fail();
    for (let i = 0; i < count; i++) if (data.readUInt32LE(at + i * 6) >= passages) fail();
    visit.term(term, data, at, count);
    at += count * 6;
  }
  if (at !== data.length) fail();
}
