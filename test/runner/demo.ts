// `npm run demo`: a real VS Code (code-server) in the browser with BERT Lens loaded from source on the demo
// workspace, using a model that needs no download. Ctrl+C stops it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startCodeServer, workbenchUrl, type CodeServer } from '../harness/codeServer';
import { repoRoot } from '../harness/paths';

/** The theme the demo opens in. */
export const DEMO_THEME = 'Default Dark Modern';

/**
 * Starts code-server on the demo workspace with BERT Lens built from this checkout. The extension is linked into the
 * extensions folder as an installed extension, not loaded as an "extension under development": a development window
 * in VS Code for the Web ignores the user's theme (it opened in Light+ whatever the settings said).
 */
export async function startDemo(port = 0): Promise<{ server: CodeServer; url: string; model: string; extensionsDir: string }> {
  const workspace = path.join(repoRoot, 'test', 'fixtures', 'demo-workspace');
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  const extensionsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-demo-ext-'));
  fs.symlinkSync(repoRoot, path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`), 'dir');
  // The trained encoder that ships inside BERT Lens: real attention and real similarity, no download.
  const model = 'bundled:use-lite';
  const server = await startCodeServer({
    workspace,
    extensionsDir,
    settings: { 'bertLens.model': model, 'workbench.colorTheme': DEMO_THEME },
    extraArgs: ['--bind-addr', `127.0.0.1:${port}`],
  });
  return { server, url: workbenchUrl(server, { folder: workspace }), model, extensionsDir };
}

async function main(): Promise<void> {
  const portArg = process.argv.indexOf('--port');
  const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 8080;
  const { server, url, model, extensionsDir } = await startDemo(port);
  process.stdout.write(
    [
      '',
      'BERT Lens demo is running in code-server (VS Code 1.100.3).',
      `Open this address in a browser on this machine (127.0.0.1 only):`,
      '',
      `  ${url}`,
      '',
      `Model: ${model} (Universal Sentence Encoder lite, bundled with BERT Lens: no download, works offline).`,
      'Try: select the fox sentence in README.md, right-click → "BERT Lens: Inspect Attention of Selection".',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  const stop = (): void => {
    void server.stop().then(() => {
      fs.rmSync(extensionsDir, { recursive: true, force: true });
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
