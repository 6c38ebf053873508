import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { readUseAssets } from './useAssets';
import { USE_ATTENTION_NODES, USE_TFJS_OUTPUT_NODE } from './useOnnxGraph';

/**
 * The shipped TF.js graph run as published, on `@tensorflow/tfjs-backend-wasm`: the reference the fast path is
 * checked against, and the baseline of `scripts/bench-use.mjs`. Development only (tfjs is a devDependency);
 * the product runs {@link UseEncoder}. Inputs are token ids, so both paths see the same tokens.
 *
 * @example
 *   const ref = await UseTfjsReference.load(assetsDir);
 *   const vectors = await ref.embedIds([[9, 482], [31, 7]]);  // Float32Array, 2 × 512, L2-normalised
 */
export interface UseTfjsOptions {
  /** Folder holding tfjs-backend-wasm's `.wasm` files; default: the installed package's `dist/`. */
  readonly wasmDir?: string;
  /** wasm threads; tfjs disables them in Node, so > 1 forces its feature flag on (see the benchmark). */
  readonly threads?: number;
}

let backendReady: Promise<string> | undefined;

function initBackend(options: UseTfjsOptions): Promise<string> {
  backendReady ??= (async () => {
    const wasmDir = options.wasmDir ?? path.join(path.dirname(createRequire(__filename).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    setWasmPaths(wasmDir.endsWith(path.sep) ? wasmDir : wasmDir + path.sep);
    if (options.threads && options.threads > 1) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
      setThreadsCount(options.threads);
    }
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    return `tfjs-wasm ${tf.version_core}${simd ? ' simd' : ''}${threads ? ' threads' : ''}`;
  })();
  return backendReady;
}

export class UseTfjsReference {
  private constructor(
    private readonly model: GraphModel,
    readonly backend: string,
    readonly loadMs: number,
  ) {}

  static async load(assetsDir: string, options: UseTfjsOptions = {}): Promise<UseTfjsReference> {
    const started = performance.now();
    const backend = await initBackend(options);
    const assets = await readUseAssets(assetsDir);
    const weightSpecs = assets.modelJson.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[];
    const model = await loadGraphModel({
      load: async () => ({
        modelTopology: assets.modelJson.modelTopology,
        weightSpecs,
        weightData: assets.weightData,
        format: assets.modelJson.format,
      }),
    });
    return new UseTfjsReference(model, backend, performance.now() - started);
  }

  /** L2-normalised vectors, `[ids.length × 512]`, for texts already tokenised (at most 128 ids each are used). */
  async embedIds(ids: readonly (readonly number[])[]): Promise<Float32Array> {
    if (ids.length === 0) return new Float32Array(0);
    // The graph sizes its batch from the largest row index that has a token; a trailing empty text would vanish.
    const dummy = ids[ids.length - 1]!.length === 0 ? 1 : 0;
    const rows = dummy ? [...ids, [UNUSED_ID]] : ids;
    const out = await this.run(rows, [USE_TFJS_OUTPUT_NODE]);
    const data = (await out[0]!.data()) as Float32Array;
    tf.dispose(out);
    return data.slice(0, ids.length * (data.length / rows.length));
  }

  /** Attention probabilities `[layer][head][query][key]` (2 × 4 × n × n) for one tokenised text. */
  async attentionIds(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.run([ids], USE_ATTENTION_NODES);
    const parts = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(out);
    const weights = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      weights.set(p, offset);
      offset += p.length;
    }
    return weights;
  }

  private async run(rows: readonly (readonly number[])[], outputs: readonly string[]): Promise<tf.Tensor[]> {
    const flat: number[] = [];
    const coordinates: number[] = [];
    rows.forEach((row, r) =>
      row.forEach((id, c) => {
        coordinates.push(r, c);
        flat.push(id);
      }),
    );
    const indices = tf.tensor2d(coordinates, [flat.length, 2], 'int32');
    const values = tf.tensor1d(flat, 'int32');
    try {
      const out = await this.model.executeAsync({ indices, values }, [...outputs]);
      return Array.isArray(out) ? out : [out];
    } finally {
      indices.dispose();
      values.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** A real token ("▁the") used only to keep the batch's shape; its row is dropped. */
const UNUSED_ID = 9;
