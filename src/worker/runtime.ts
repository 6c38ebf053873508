/**
 * The onnxruntime every worker file (and, through esbuild.js, transformers.js) uses: the native
 * `onnxruntime-node` when its binary loads on this platform, else `onnxruntime-web` (WebAssembly) running the same
 * models from `.wasm` files shipped next to the bundle (`dist/ort-wasm/`; never a CDN).
 *
 * The choice is made once, synchronously, when this module is first loaded. `BERT_LENS_FORCE_WASM=1` in the
 * worker's environment forces the WebAssembly runtime (tests; users whose native runtime misbehaves).
 *
 * @example
 *   import * as ort from './runtime';
 *   const session = await ort.InferenceSession.create(bytes);
 *   const ids = new ort.Tensor('int64', new BigInt64Array(8), [1, 8]);
 *   if (ort.runtimeInfo.kind === 'wasm') console.log(ort.runtimeInfo.reason);
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Common from 'onnxruntime-common';
import type { RuntimeInfo } from '../protocol/worker';

/** Environment variable that forces the WebAssembly runtime when set to `1`. */
export const FORCE_WASM_ENV = 'BERT_LENS_FORCE_WASM';

/** The two files onnxruntime-web needs in Node: the Emscripten loader and the WebAssembly binary. */
export const WASM_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'] as const;

type Ort = typeof Common;

const nodeRequire = createRequire(__filename);

/**
 * The folder holding {@link WASM_FILES}: `ort-wasm/` next to the running bundle (what the VSIX ships, copied by
 * esbuild.js), else onnxruntime-web's own `dist/` in node_modules (development, tests).
 */
export function wasmDir(): string {
  for (const dir of [path.join(__dirname, 'ort-wasm'), path.join(__dirname, '..', '..', 'dist', 'ort-wasm')]) {
    if (WASM_FILES.every((f) => fs.existsSync(path.join(dir, f)))) return dir;
  }
  return path.dirname(nodeRequire.resolve('onnxruntime-web'));
}

/** Threads for the WebAssembly runtime: half the cores (the editor shares the machine), 1 to 4. */
export function wasmThreads(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, Math.ceil(cores / 2)));
}

/** False in the production build (esbuild `define`). */
declare const BERT_LENS_TEST_HOOKS: boolean;

/**
 * onnxruntime intra-op threads for the native runtime: one core left for the editor (and the extension host's
 * indexer), at least 1, at most 8. On a shared 2-core machine 1 thread embedded 1.3–2× faster than 2
 * (out/bench/throughput.js): two threads wait on each other whenever another process holds a core.
 * Development builds read `BERT_LENS_ORT_THREADS` so benchmarks can compare.
 */
export function intraOpThreads(): number {
  const forced = BERT_LENS_TEST_HOOKS ? Number(process.env.BERT_LENS_ORT_THREADS) : NaN;
  if (Number.isInteger(forced) && forced > 0) return forced;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, cores - 1));
}

function loadWasm(): Ort {
  // Bundled into the worker (with its own onnxruntime-common, see esbuild.js); only the .wasm files come from disk.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const web = require('onnxruntime-web') as Ort;
  const dir = wasmDir();
  web.env.wasm.wasmPaths = dir.endsWith(path.sep) ? dir : dir + path.sep;
  web.env.wasm.numThreads = wasmThreads();
  // The worker is already off the editor's thread; a second proxy worker would only copy tensors once more.
  web.env.wasm.proxy = false;
  return web;
}

function select(): { ort: Ort; info: RuntimeInfo } {
  if (process.env[FORCE_WASM_ENV] === '1') {
    return { ort: loadWasm(), info: { kind: 'wasm', reason: `${FORCE_WASM_ENV}=1 is set`, forced: true } };
  }
  let reason: string;
  try {
    const native = nodeRequire('onnxruntime-node') as Ort;
    return { ort: native, info: { kind: 'native' } };
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    reason = `the native onnxruntime cannot load on ${process.platform}-${process.arch} (${message})`;
  }
  return { ort: loadWasm(), info: { kind: 'wasm', reason, forced: false } };
}

const selected = select();

/** Which runtime was chosen and, for WebAssembly, why. */
export const runtimeInfo: RuntimeInfo = selected.info;

export const InferenceSession: typeof Common.InferenceSession = selected.ort.InferenceSession;
export type InferenceSession = Common.InferenceSession;
// A type-only namespace so `ort.InferenceSession.ReturnType` reads as it does with onnxruntime-node.
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace InferenceSession {
  export type ReturnType = Common.InferenceSession.ReturnType;
  export type SessionOptions = Common.InferenceSession.SessionOptions;
  export type FeedsType = Common.InferenceSession.FeedsType;
}
export const Tensor: typeof Common.Tensor = selected.ort.Tensor;
export type Tensor = Common.Tensor;
/** onnxruntime's global settings (transformers.js reads `env.versions` and `env.wasm`). */
export const env: typeof Common.env = selected.ort.env;
