// Runs the extension-host integration suite (out/test/vscode/index.js) inside a real code-server.
import * as path from 'node:path';
import { runExtensionTests, startCodeServer, testOutputDir } from '../harness/codeServer';
import { repoRoot } from '../harness/paths';

export interface TierResult {
  passed: number;
  failed: number;
  failures: string[];
}

export async function runVscodeTier(): Promise<TierResult> {
  const workspace = path.join(repoRoot, 'test', 'fixtures', 'demo-workspace');
  const server = await startCodeServer({ workspace });
  try {
    const result = await runExtensionTests(server, {
      folder: workspace,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(repoRoot, 'out', 'test', 'vscode', 'index.js'),
      timeoutMs: 300_000,
      echo: true,
      saveLogsTo: testOutputDir('vscode-tier'),
    });
    return {
      passed: result.passed,
      failed: result.failed + (result.exitCode !== 0 && result.failed === 0 ? 1 : 0),
      failures: [
        ...result.failures.map((f) => `${f.title}: ${f.error.split('\n')[0]}`),
        ...(result.exitCode !== 0 && result.failed === 0 ? [`extension host exited with code ${result.exitCode}`] : []),
      ],
    };
  } catch (e) {
    return { passed: 0, failed: 1, failures: [`could not run the extension-host tests: ${(e as Error).message}`] };
  } finally {
    await server.stop({ saveLogsTo: testOutputDir('vscode-tier', 'server') });
  }
}
