// Runs the extension-host integration suite (out/test/vscode/index.js) inside a real code-server.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runExtensionTests, startCodeServer, testOutputDir, type StartCodeServerOptions } from '../harness/codeServer';
import { repoRoot } from '../harness/paths';

export interface TierResult {
  passed: number;
  failed: number;
  failures: string[];
  /** Full titles of skipped tests. */
  skipped: string[];
}

/** One run of the suite, on the demo workspace unless `pass` names another workspace, server options or log folder. */
export async function runVscodeTier(pass: { workspace?: string; server?: Partial<StartCodeServerOptions>; logs?: string } = {}): Promise<TierResult> {
  const workspace = pass.workspace ?? path.join(repoRoot, 'test', 'fixtures', 'demo-workspace');
  const logs = pass.logs ?? 'vscode-tier';
  const server = await startCodeServer({ ...pass.server, workspace });
  try {
    const result = await runExtensionTests(server, {
      folder: workspace,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(repoRoot, 'out', 'test', 'vscode', 'index.js'),
      timeoutMs: 300_000,
      echo: true,
      saveLogsTo: testOutputDir(logs),
    });
    return {
      skipped: result.skipped,
      passed: result.passed,
      failed: result.failed + (result.exitCode !== 0 && result.failed === 0 ? 1 : 0),
      failures: [
        ...result.failures.map((f) => `${f.title}: ${f.error.split('\n')[0]}`),
        ...(result.exitCode !== 0 && result.failed === 0 ? [`extension host exited with code ${result.exitCode}`] : []),
      ],
    };
  } catch (e) {
    return { passed: 0, failed: 1, skipped: [], failures: [`could not run the extension-host tests: ${(e as Error).message}`] };
  } finally {
    await server.stop({ saveLogsTo: testOutputDir(logs, 'server') });
  }
}

/**
 * The suite again in restricted mode: workspace trust on, a workspace never trusted whose settings point BERT Lens
 * at a model folder and a mirror (see test/vscode/modelsRestricted.test.ts). Only that suite runs.
 */
export async function runRestrictedModeTier(): Promise<TierResult> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-untrusted-'));
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(
    path.join(workspace, '.vscode', 'settings.json'),
    '{\n  // what a cloned repository could say\n  "bertLens.model": "Xenova/bge-small-en-v1.5",\n  "bertLens.hubMirror": "http://mirror.invalid",\n' +
      '  "bertLens.summary.model": "./models/evil-summary",\n  "bertLens.hover.mode": "abstractive",\n' +
      '  "bertLens.allowDownloads": true,\n  "bertLens.search.maxFileSize": 1e12,\n}\n',
  );
  try {
    // The user said "no downloads": no workspace may say otherwise, trusted or not (the setting's scope is machine).
    const server = { workspaceTrust: true, settings: { 'bertLens.allowDownloads': false }, env: { BERTLENS_TEST_GREP: 'restricted mode' } };
    const r = await runVscodeTier({ workspace, server, logs: 'vscode-tier-restricted' });
    const noTests = r.passed + r.failed === 0;
    return { passed: r.passed, skipped: r.skipped, failed: r.failed + (noTests ? 1 : 0), failures: [...r.failures.map((f) => `restricted mode: ${f}`), ...(noTests ? ['restricted mode: no test ran'] : [])] };
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}
