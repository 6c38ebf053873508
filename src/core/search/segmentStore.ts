/**
 * The on-disk format of a semantic index: immutable, checksummed segment files plus a small manifest that names
 * the live ones. See {@link SemanticIndex} for how they are used.
 *
 *   <store>/<model-slug>-<sha8(modelKey)>/
 *     manifest.json     { format, schema, modelKey, dims, chunkerKey, generation, nextSegment,
 *                         segments: [{ name, bytes, sha256 }], checksum }   (checksum = sha256 of the rest)
 *     seg-00000001.bin  header · records · footer   (never modified after it is renamed into place)
 *     lock              pid of the process updating the index
 *
 * Segment (little-endian):
 *   header 32 B   "BLSEG\0\0\1" · schema u32 · dims u32 · first 16 bytes of sha256(modelKey)
 *   record        kind u8 · payload length u32 · payload
 *     kind 1 vector   chunk-text hash (16 B) · dims × f32 · text (UTF-8)
 *     kind 2 file     JSON {@link FileRecordJson}           (replaces any earlier record of that uri)
 *     kind 3 delete   JSON { uri }
 *     kind 4 lexicon  BM25 statistics of this segment's vector records (lexicon.ts); last, when there are vectors
 *   footer 48 B   "BLSEGEND" · record count u32 · 0 u32 · sha256 of every byte before the footer
 *
 * Commit protocol: write `seg-N.bin.tmp`, fsync, rename to `seg-N.bin`; then write the new manifest to a temporary
 * file, fsync, rename over `manifest.json`, fsync the folder. The manifest rename is the only commit point: a crash
 * before it leaves the previous manifest, whose segments are untouched; after it, every segment it names was fsynced
 * first. Segments the manifest does not name are leftovers of an interrupted commit or compaction and are deleted.
 */
import { writeFileAtomic } from '../atomicFile';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isProcessAlive } from '../process';

/** Version of this format. Anything else on disk is rebuilt. */
export const SCHEMA_VERSION = 2;
export const FORMAT = 'bert-lens-index';
export const MANIFEST = 'manifest.json';
const HEADER_BYTES = 32;
const FOOTER_BYTES = 48;
const MAGIC = Buffer.from('BLSEG\0\0\x01', 'latin1');
const END_MAGIC = Buffer.from('BLSEGEND', 'latin1');
export const HASH_BYTES = 16;

export const RecordKind = { Vector: 1, File: 2, Delete: 3, Lexicon: 4 } as const;

if (os.endianness() !== 'LE') throw new Error('BERT Lens indexes need a little-endian machine');

/** A damaged or foreign index: the caller rebuilds it. */
export class IndexDamagedError extends Error {
  override name = 'IndexDamagedError';
}

/** Another live process holds the index's lock. */
export class IndexLockedError extends Error {
  override name = 'IndexLockedError';
}

export interface SegmentRef {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface Manifest {
  readonly format: typeof FORMAT;
  readonly schema: number;
  readonly modelKey: string;
  readonly dims: number;
  readonly chunkerKey: string;
  /** Increases with every commit. */
  readonly generation: number;
  /** Number of the next segment file. */
  readonly nextSegment: number;
  readonly segments: readonly SegmentRef[];
}

/** `[startLine, startCharacter, endLine, endCharacter, textHashHex]`, 0-based, end exclusive. */
export type ChunkRecord = readonly [number, number, number, number, string];

export interface FileRecordJson {
  readonly uri: string;
  readonly relPath: string;
  readonly size: number;
  readonly mtime: number;
  /** sha256 (32 hex) of the decoded text; absent for skipped files. */
  readonly contentHash?: string;
  readonly skip?: { readonly reason: 'binary' | 'tooLarge'; readonly detail?: string };
  readonly chunks: readonly ChunkRecord[];
}

export function modelKeyHash(modelKey: string): Buffer {
  return createHash('sha256').update(modelKey).digest().subarray(0, 16);
}

/** Folder of the index for `modelKey` under `storeDir`: readable slug + hash, so models never share files. */
export function modelDirName(modelKey: string): string {
  const slug = modelKey.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+|_+$/g, '').slice(0, 48) || 'model';
  return `${slug}-${createHash('sha256').update(modelKey).digest('hex').slice(0, 8)}`;
}

export function segmentName(n: number): string {
  return `seg-${String(n).padStart(8, '0')}.bin`;
}

const SEGMENT_NAME = /^seg-(\d{8,})\.bin$/;

export function segmentNumber(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

function manifestChecksum(body: Manifest): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/** Reads and verifies `manifest.json`; undefined when absent. @throws IndexDamagedError */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  let raw: string;
  try {
    raw = await fs.promises.readFile(path.join(dir, MANIFEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IndexDamagedError(`cannot read the manifest: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new IndexDamagedError('the manifest is not valid JSON (truncated or overwritten)');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new IndexDamagedError('the manifest is not an object');
  const { checksum, ...body } = parsed as Manifest & { checksum?: unknown };
  if (body.format !== FORMAT) throw new IndexDamagedError(`not a BERT Lens index (format ${JSON.stringify(body.format)})`);
  if (body.schema !== SCHEMA_VERSION) throw new IndexDamagedError(`index schema ${body.schema}, this version reads ${SCHEMA_VERSION}`);
  if (checksum !== manifestChecksum(body as Manifest)) throw new IndexDamagedError('the manifest checksum does not match its contents');
  const ok =
    typeof body.modelKey === 'string' &&
    Number.isInteger(body.dims) &&
    typeof body.chunkerKey === 'string' &&
    Number.isInteger(body.generation) &&
    Number.isInteger(body.nextSegment) &&
    Array.isArray(body.segments) &&
    body.segments.every((s) => typeof s?.name === 'string' && segmentNumber(s.name) !== undefined && Number.isInteger(s.bytes) && typeof s.sha256 === 'string');
  if (!ok) throw new IndexDamagedError('the manifest is missing fields');
  return body as Manifest;
}

/** Replaces `manifest.json` atomically (temporary file, fsync, rename, fsync of the folder). */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const body: Manifest = {
    format: manifest.format,
    schema: manifest.schema,
    modelKey: manifest.modelKey,
    dims: manifest.dims,
    chunkerKey: manifest.chunkerKey,
    generation: manifest.generation,
    nextSegment: manifest.nextSegment,
    segments: manifest.segments.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 })),
  };
  await writeFileAtomic(path.join(dir, MANIFEST), `${JSON.stringify({ ...body, checksum: manifestChecksum(body) })}\n`);
}

export interface SegmentHeader {
  readonly schema: number;
  readonly dims: number;
  readonly modelKey: string;
}

/** Where a vector record's text landed in the segment file. */
export interface TextLocation {
  readonly offset: number;
  readonly bytes: number;
}

/**
 * Writes one segment: records are buffered and streamed to `<name>.tmp`; {@link commit} adds the footer, fsyncs and
 * renames. Nothing a reader trusts exists until the manifest names the segment.
 */
export class SegmentWriter {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private written = 0;
  private records = 0;
  private readonly hash = createHash('sha256');
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly name: string,
    private readonly handle: fs.promises.FileHandle,
    private readonly dims: number,
  ) {}

  static async create(dir: string, name: string, header: SegmentHeader): Promise<SegmentWriter> {
    const handle = await fs.promises.open(path.join(dir, `${name}.tmp`), 'w');
    const w = new SegmentWriter(dir, name, handle, header.dims);
    const h = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(h, 0);
    h.writeUInt32LE(header.schema, 8);
    h.writeUInt32LE(header.dims, 12);
    modelKeyHash(header.modelKey).copy(h, 16);
    w.push(h);
    return w;
  }

  /** Bytes in the segment so far. */
  get bytes(): number {
    return this.written + this.buffered;
  }

  async addVector(hashHex: string, vector: Float32Array, text: string): Promise<TextLocation> {
    const textBytes = Buffer.from(text, 'utf8');
    const payload = HASH_BYTES + this.dims * 4 + textBytes.length;
    const head = Buffer.alloc(5 + HASH_BYTES);
    head.writeUInt8(RecordKind.Vector, 0);
    head.writeUInt32LE(payload, 1);
    Buffer.from(hashHex, 'hex').copy(head, 5);
    const vec = Buffer.from(vector.buffer, vector.byteOffset, this.dims * 4);
    const textOffset = this.bytes + head.length + vec.length;
    this.push(head, Buffer.from(vec), textBytes);
    this.records++;
    await this.maybeFlush();
    return { offset: textOffset, bytes: textBytes.length };
  }

  async addJson(kind: typeof RecordKind.File | typeof RecordKind.Delete, value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value), 'utf8');
    const head = Buffer.alloc(5);
    head.writeUInt8(kind, 0);
    head.writeUInt32LE(body.length, 1);
    this.push(head, body);
    this.records++;
    await this.maybeFlush();
  }

  async addLexicon(payload: Buffer): Promise<void> {
    const head = Buffer.alloc(5);
    head.writeUInt8(RecordKind.Lexicon, 0);
    head.writeUInt32LE(payload.length, 1);
    this.push(head, payload);
    this.records++;
    await this.maybeFlush();
  }

  /** Footer, fsync, rename into place. Returns what the manifest records. */
  async commit(): Promise<SegmentRef> {
    const footer = Buffer.alloc(FOOTER_BYTES);
    END_MAGIC.copy(footer, 0);
    footer.writeUInt32LE(this.records, 8);
    const digest = this.hash.digest();
    digest.copy(footer, 16);
    this.chunks.push(footer);
    this.buffered += footer.length;
    await this.flush();
    await this.handle.sync();
    await this.handle.close();
    this.closed = true;
    await fs.promises.rename(path.join(this.dir, `${this.name}.tmp`), path.join(this.dir, this.name));
    return { name: this.name, bytes: this.written, sha256: digest.toString('hex') };
  }

  /** Drops the unfinished segment. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await fs.promises.rm(path.join(this.dir, `${this.name}.tmp`), { force: true });
  }

  private push(...parts: Buffer[]): void {
    for (const p of parts) {
      this.hash.update(p);
      this.chunks.push(p);
      this.buffered += p.length;
    }
  }

  private async maybeFlush(): Promise<void> {
    if (this.buffered >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const data = Buffer.concat(this.chunks, this.buffered);
    this.chunks.length = 0;
    this.buffered = 0;
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.handle.write(data, off, data.length - off, this.written + off);
      off += bytesWritten;
    }
    this.written += data.length;
  }
}

export type SegmentRecord =
  | {
      readonly kind: typeof RecordKind.Vector;
      readonly hash: string;
      /** dims × 4 little-endian float32 bytes. */
      readonly vector: Uint8Array;
      /** Decodes the passage text (not done unless asked: loading needs only the BM25 lexicon). */
      text(): string;
      readonly textOffset: number;
      readonly textBytes: number;
    }
  | { readonly kind: typeof RecordKind.File; readonly file: FileRecordJson }
  | { readonly kind: typeof RecordKind.Delete; readonly uri: string }
  | { readonly kind: typeof RecordKind.Lexicon; readonly data: Buffer };

/**
 * Reads a whole segment and verifies it: size and hash against `expected` when given, footer checksum, header against
 * the model's key and dims. Hashes in slices, yielding to the event loop between them. @throws IndexDamagedError
 */
export async function readSegment(dir: string, name: string, header: SegmentHeader, expected: SegmentRef | undefined): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await fs.promises.readFile(path.join(dir, name));
  } catch (e) {
    throw new IndexDamagedError(`segment ${name} cannot be read: ${(e as Error).message}`);
  }
  if (expected && data.length !== expected.bytes) throw new IndexDamagedError(`segment ${name} has ${data.length} bytes, the manifest says ${expected.bytes} (truncated?)`);
  if (data.length < HEADER_BYTES + FOOTER_BYTES) throw new IndexDamagedError(`segment ${name} is too short (${data.length} bytes)`);
  const footerAt = data.length - FOOTER_BYTES;
  if (!data.subarray(footerAt, footerAt + 8).equals(END_MAGIC)) throw new IndexDamagedError(`segment ${name} has no footer (truncated?)`);
  const hash = createHash('sha256');
  for (let at = 0; at < footerAt; at += HASH_SLICE) {
    hash.update(data.subarray(at, Math.min(footerAt, at + HASH_SLICE)));
    if (at + HASH_SLICE < footerAt) await new Promise((resolve) => setImmediate(resolve));
  }
  const digest = hash.digest();
  if (!digest.equals(data.subarray(footerAt + 16, footerAt + 48))) throw new IndexDamagedError(`segment ${name} fails its checksum (damaged)`);
  if (expected && digest.toString('hex') !== expected.sha256) throw new IndexDamagedError(`segment ${name} is not the one the manifest names`);
  if (!data.subarray(0, 8).equals(MAGIC)) throw new IndexDamagedError(`segment ${name} has a bad header`);
  if (data.readUInt32LE(8) !== header.schema) throw new IndexDamagedError(`segment ${name} has schema ${data.readUInt32LE(8)}`);
  if (data.readUInt32LE(12) !== header.dims) throw new IndexDamagedError(`segment ${name} holds ${data.readUInt32LE(12)}-d vectors, the model gives ${header.dims}`);
  if (!data.subarray(16, 32).equals(modelKeyHash(header.modelKey))) throw new IndexDamagedError(`segment ${name} belongs to another model`);
  return data;
}

const HASH_SLICE = 2 * 1024 * 1024;

/** The records of a segment verified by {@link readSegment}, in order. @throws IndexDamagedError */
export function* segmentRecords(data: Buffer, name: string, dims: number): Generator<SegmentRecord> {
  const footerAt = data.length - FOOTER_BYTES;
  const count = data.readUInt32LE(footerAt + 8);
  const vectorBytes = dims * 4;
  let at = HEADER_BYTES;
  let records = 0;
  while (at < footerAt) {
    if (at + 5 > footerAt) throw new IndexDamagedError(`segment ${name}: record header past the end`);
    const kind = data.readUInt8(at);
    const length = data.readUInt32LE(at + 1);
    const start = at + 5;
    const end = start + length;
    if (end > footerAt) throw new IndexDamagedError(`segment ${name}: record past the end`);
    if (kind === RecordKind.Vector) {
      if (length < HASH_BYTES + vectorBytes) throw new IndexDamagedError(`segment ${name}: short vector record`);
      const textOffset = start + HASH_BYTES + vectorBytes;
      yield {
        kind,
        hash: data.toString('hex', start, start + HASH_BYTES),
        vector: data.subarray(start + HASH_BYTES, textOffset),
        text: () => data.toString('utf8', textOffset, end),
        textOffset,
        textBytes: end - textOffset,
      };
    } else if (kind === RecordKind.Lexicon) {
      yield { kind, data: data.subarray(start, end) };
    } else if (kind === RecordKind.File || kind === RecordKind.Delete) {
      let value: unknown;
      try {
        value = JSON.parse(data.toString('utf8', start, end));
      } catch {
        throw new IndexDamagedError(`segment ${name}: unreadable file record`);
      }
      if (kind === RecordKind.File) {
        if (!isFileRecord(value)) throw new IndexDamagedError(`segment ${name}: malformed file record`);
        yield { kind, file: value };
      } else {
        const uri = (value as { uri?: unknown })?.uri;
        if (typeof uri !== 'string') throw new IndexDamagedError(`segment ${name}: malformed delete record`);
        yield { kind, uri };
      }
    } else throw new IndexDamagedError(`segment ${name}: unknown record kind ${kind}`);
    at = end;
    records++;
  }
  if (records !== count) throw new IndexDamagedError(`segment ${name}: ${records} records, footer says ${count}`);
}

function isFileRecord(v: unknown): v is FileRecordJson {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.uri === 'string' &&
    typeof r.relPath === 'string' &&
    typeof r.size === 'number' &&
    typeof r.mtime === 'number' &&
    Array.isArray(r.chunks) &&
    r.chunks.every((c: unknown) => Array.isArray(c) && c.length === 5 && c.slice(0, 4).every((n) => Number.isInteger(n) && (n as number) >= 0) && typeof c[4] === 'string' && /^[0-9a-f]{32}$/.test(c[4]))
  );
}

/** Reads `bytes` bytes of UTF-8 text at `offset` of a segment, through a cached handle. */
export class SegmentTextReader {
  private readonly handles = new Map<string, Promise<fs.promises.FileHandle>>();

  constructor(private readonly dir: string) {}

  async read(name: string, offset: number, bytes: number): Promise<string> {
    let handle = this.handles.get(name);
    if (!handle) {
      handle = fs.promises.open(path.join(this.dir, name), 'r');
      this.handles.set(name, handle);
      handle.catch(() => this.handles.delete(name));
    }
    const h = await handle;
    const buffer = Buffer.alloc(bytes);
    let filled = 0;
    while (filled < bytes) {
      const { bytesRead } = await h.read(buffer, filled, bytes - filled, offset + filled);
      if (bytesRead === 0) throw new IndexDamagedError(`segment ${name} is shorter than when it was loaded`);
      filled += bytesRead;
    }
    return buffer.toString('utf8');
  }

  /** Closes the handle of a segment (before it is deleted). */
  async forget(name: string): Promise<void> {
    const h = this.handles.get(name);
    this.handles.delete(name);
    if (h) await (await h.catch(() => undefined))?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.handles.keys()].map((n) => this.forget(n)));
  }
}

const heldLocks = new Set<string>();

/**
 * A lock file whose owner is not written yet is taken over only once it is older than this: it is created empty and
 * its owner written right after, so a younger one belongs to a process opening the index this very moment.
 */
export const UNWRITTEN_LOCK_MS = 5_000;

/**
 * Takes `<dir>/lock` for this process: created exclusively; a lock left by a dead process (crash, kill), or left
 * empty for longer than {@link UNWRITTEN_LOCK_MS}, is taken over. @throws IndexLockedError when a live process holds
 * it (or this process already does, or another is creating it now).
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'lock');
  if (heldLocks.has(file)) throw new IndexLockedError(`the index at ${dir} is already open in this process`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fs.promises.open(file, 'wx');
      await handle.writeFile(JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() }));
      await handle.close();
      heldLocks.add(file);
      return async () => {
        heldLocks.delete(file);
        await fs.promises.rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: { pid?: unknown; host?: unknown } | undefined;
    try {
      owner = JSON.parse(await fs.promises.readFile(file, 'utf8')) as typeof owner;
    } catch {
      // Empty or half-written: its writer is between create and write, or died there.
    }
    if (!owner || typeof owner !== 'object') {
      if ((await lockAgeMs(file)) < UNWRITTEN_LOCK_MS) throw new IndexLockedError(`the index at ${dir} is being opened by another process`);
    } else if (typeof owner.pid === 'number' && owner.host === os.hostname() && owner.pid !== process.pid && isProcessAlive(owner.pid)) {
      throw new IndexLockedError(`the index at ${dir} is being updated by process ${owner.pid}`);
    } else if (typeof owner.host === 'string' && owner.host !== os.hostname() && (await lockAgeMs(file)) < 24 * 3600_000) {
      throw new IndexLockedError(`the index at ${dir} is being updated on ${owner.host}; if that is not so, delete ${file}`);
    }
    await fs.promises.rm(file, { force: true });
  }
  throw new IndexLockedError(`could not lock the index at ${dir}`);
}

async function lockAgeMs(file: string): Promise<number> {
  try {
    return Date.now() - (await fs.promises.stat(file)).mtimeMs;
  } catch {
    return Infinity;
  }
}
