// Small helpers shared by the benchmarks.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { repoRoot } from './paths';

/** The p-th percentile (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `work` and reports this thread's event-loop delay meanwhile (p99 and max, in milliseconds). */
export async function lagDuring<T>(work: () => Promise<T>): Promise<{ result: T; p99: number; max: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    const result = await work();
    return { result, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
  } finally {
    h.disable();
  }
}

/**
 * Runs the extension-host suites whose titles match `grep` inside a real code-server (demo workspace) and returns the
 * figures they print as `BERTLENS_METRIC name=value …` lines.
 */
export async function extensionHostMetrics(grep: string): Promise<{ passed: number; failed: number; lines: string[] }> {
  const { runExtensionTests, startCodeServer } = await import('./codeServer');
  const workspace = path.join(repoRoot, 'test', 'fixtures', 'demo-workspace');
  const server = await startCodeServer({ workspace, env: { BERTLENS_TEST_GREP: grep } });
  try {
    const r = await runExtensionTests(server, {
      folder: workspace,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(repoRoot, 'out', 'test', 'vscode', 'index.js'),
      timeoutMs: 300_000,
    });
    return { passed: r.passed, failed: r.failed, lines: r.log.filter((l) => l.includes('BERTLENS_METRIC')).map((l) => l.replace(/.*BERTLENS_METRIC /, '')) };
  } finally {
    await server.stop();
  }
}

/** The MiniLM-size random BERT (6 layers, 12 heads, hidden 384) in .cache/minilm, generated on first use (needs /usr/bin/python3 with torch). */
export function ensureMiniLm(): string {
  const dir = path.join(repoRoot, '.cache', 'minilm');
  if (!fs.existsSync(path.join(dir, 'onnx', 'model.onnx'))) {
    console.log('generating a MiniLM-size random BERT into .cache/minilm (needs /usr/bin/python3 with torch)…');
    execFileSync('/usr/bin/python3', [path.join(repoRoot, 'scripts/fixtures/make_bert.py'), '--minilm', dir], { stdio: 'inherit' });
  }
  return dir;
}
