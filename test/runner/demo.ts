// `npm run demo`: a real VS Code (code-server) in the browser with BERT Lens loaded from source on the demo
// workspace, using a model that needs no download. Ctrl+C stops it.
import * as path from 'node:path';
import { startCodeServer, workbenchUrl } from '../harness/codeServer';
import { repoRoot } from '../harness/paths';

async function main(): Promise<void> {
  const portArg = process.argv.indexOf('--port');
  const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 8080;
  const workspace = path.join(repoRoot, 'test', 'fixtures', 'demo-workspace');
  // The trained encoder that ships inside BERT Lens: real attention and real similarity, no download.
  const model = 'bundled:use-lite';
  const server = await startCodeServer({
    workspace,
    settings: { 'bertLens.model': model, 'workbench.colorTheme': 'Default Dark Modern' },
    extraArgs: ['--bind-addr', `127.0.0.1:${port}`],
  });
  const url = workbenchUrl(server, { folder: workspace, extensionDevelopmentPath: repoRoot });
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
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
