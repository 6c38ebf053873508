/**
 * Mocha runner for tests that run INSIDE the real VS Code extension host (code-server's remote extension host,
 * which is Node 20), with the real `vscode` API.
 *
 * A test index is a small module, bundled by esbuild (platform node, format cjs, external `vscode`) together
 * with mocha and the suites, whose path is passed as `extensionTestsPath` (see runExtensionTests in
 * codeServer.ts). VS Code require()s it and calls its exported `run()`; when the returned promise resolves the
 * exit code is 0, when it rejects 1. Counts travel as one console line
 *     BERTLENS_RESULT {"passed":N,"failed":M,"pending":P,"failures":[{"title":..,"error":..}],"durationMs":..}
 * which the extension host forwards to the page (codeAutomationLog) and runExtensionTests parses.
 *
 * How a suite plugs in: each entry is a function called once mocha's BDD globals (describe/it/before/after/
 * beforeEach/afterEach, or suite/test/... with ui:'tdd') exist. Either
 *   - the suite file registers at top level and the entry lazily requires it (esbuild keeps a require() inside a
 *     function lazy, so the file's top level runs only then):
 *         export const run = createRun({ suites: { commands: () => require('./commands.test') } });
 *   - or the suite file exports a registration function:
 *         // smoke.test.ts
 *         import * as assert from 'node:assert/strict';
 *         import * as vscode from 'vscode';
 *         export function register(): void {
 *           describe('smoke', () => {
 *             it('registers the command', async () => {
 *               assert.ok((await vscode.commands.getCommands(true)).includes('bertLens.open'));
 *             });
 *           });
 *         }
 *         // index.ts
 *         import { createRun } from '../harness/extensionTestIndex';
 *         import { register as smoke } from './smoke.test';
 *         export const run = createRun({ suites: { smoke } });
 *
 * Environment (the extension host inherits code-server's environment: pass these via startCodeServer({ env })):
 *   BERTLENS_TEST_GREP     only run tests whose full title matches this (regexp source)
 *   BERTLENS_TEST_TIMEOUT  per-test timeout in ms (default opts.timeout ?? 20000)
 */
import Mocha from 'mocha';

export type SuiteEntry = () => unknown;

export interface TestIndexOptions {
  /** Suites, by name (the name is used as the "file" for mocha's require events) or as a list. */
  suites: Record<string, SuiteEntry> | SuiteEntry[];
  /** Mocha interface (default 'bdd': describe/it; 'tdd': suite/test). */
  ui?: 'bdd' | 'tdd';
  /** Per-test timeout in ms (default 20000; BERTLENS_TEST_TIMEOUT overrides). */
  timeout?: number;
  /** Slow threshold in ms (default 2000). */
  slow?: number;
  /** Only run tests whose full title matches (BERTLENS_TEST_GREP overrides). */
  grep?: string | RegExp;
  /** Mocha reporter for the human-readable output (default 'spec'; its lines reach the automation log). */
  reporter?: string;
}

export interface TestIndexResult {
  passed: number;
  failed: number;
  pending: number;
  /** Full titles of the skipped (pending) tests: scripts/test.mjs checks each against test/allowed-skips.json. */
  skipped: string[];
  failures: Array<{ title: string; error: string }>;
  durationMs: number;
}

export const RESULT_MARKER = 'BERTLENS_RESULT ';

/** Builds and runs the mocha suite; resolves with counts (never rejects for test failures). */
export async function runSuites(opts: TestIndexOptions): Promise<TestIndexResult> {
  const started = Date.now();
  const ui = opts.ui ?? 'bdd';
  const envTimeout = Number(process.env.BERTLENS_TEST_TIMEOUT);
  const mocha = new Mocha({
    ui,
    reporter: opts.reporter ?? 'spec',
    color: false,
    timeout: Number.isFinite(envTimeout) && envTimeout > 0 ? envTimeout : (opts.timeout ?? 20_000),
    slow: opts.slow ?? 2_000,
  });
  const grep = process.env.BERTLENS_TEST_GREP || opts.grep;
  if (grep) mocha.grep(grep);

  const entries: Array<[string, SuiteEntry]> = Array.isArray(opts.suites)
    ? opts.suites.map((fn, i) => [fn.name || `suite${i}`, fn])
    : Object.entries(opts.suites);
  // Same events mocha's own loadFiles() emits: 'pre-require' installs the interface globals.
  for (const [name, register] of entries) {
    mocha.suite.emit('pre-require', globalThis, name, mocha);
    const exported = register();
    mocha.suite.emit('require', exported, name, mocha);
    mocha.suite.emit('post-require', globalThis, name, mocha);
  }

  const failures: TestIndexResult['failures'] = [];
  let passed = 0;
  const skipped: string[] = [];
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', () => passed++);
    runner.on('pending', (test: Mocha.Runnable) => skipped.push(test.fullTitle()));
    runner.on('fail', (test: Mocha.Runnable, err: unknown) => {
      const e = err as { stack?: string; message?: string } | undefined;
      failures.push({ title: test.fullTitle(), error: String(e?.stack ?? e?.message ?? err).slice(0, 4000) });
    });
  });
  return { passed, failed: failures.length, pending: skipped.length, skipped, failures, durationMs: Date.now() - started };
}

/**
 * VS Code drops a forwarded console call whose JSON exceeds 100000 characters ("Output omitted for a large
 * object"): keep the result line well under that by shortening error texts when there are many failures.
 */
function resultLine(result: TestIndexResult): string {
  for (const max of [4000, 1000, 200, 0]) {
    const line = JSON.stringify({ ...result, failures: result.failures.map((f) => ({ title: f.title.slice(0, 500), error: f.error.slice(0, max) })) });
    if (line.length < 80_000) return line;
  }
  return JSON.stringify({ ...result, failures: result.failures.slice(0, 100).map((f) => ({ title: f.title.slice(0, 200), error: '' })) });
}

/** Runs the suites, prints the BERTLENS_RESULT line, and rejects when any test failed (exit code 1). */
export async function runAndReport(opts: TestIndexOptions): Promise<TestIndexResult> {
  let result: TestIndexResult;
  try {
    result = await runSuites(opts);
  } catch (e) {
    // Registration or runner crash: still report something parseable.
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    result = { passed: 0, failed: 1, pending: 0, skipped: [], failures: [{ title: '(test index)', error }], durationMs: 0 };
  }
  console.log(RESULT_MARKER + resultLine(result));
  if (result.failed > 0) {
    throw new Error(`${result.failed} test(s) failed: ${result.failures.map((f) => f.title).join('; ')}`);
  }
  return result;
}

/** `export const run = createRun({...})` in a test index: the `run(): Promise<void>` VS Code calls. */
export function createRun(opts: TestIndexOptions): () => Promise<void> {
  return async () => {
    await runAndReport(opts);
  };
}

/**
 * For tests inside the extension host: polls `fn` until it returns a truthy value. The workbench applies many
 * API effects asynchronously (e.g. vscode.window.tabGroups is still empty right after executeCommand opened a
 * webview panel), so poll instead of asserting once.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
