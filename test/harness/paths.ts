import * as fs from 'node:fs';
import * as path from 'node:path';

/** Repository root: the nearest folder above this bundle (out/test/<tier>/, out/bench/) holding esbuild.js. */
export const repoRoot = ((): string => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'esbuild.js')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no repository root above ${__dirname}`);
  }
})();
export const fixtureModels = path.join(repoRoot, 'test', 'fixtures', 'models');
export const workerScript = path.join(repoRoot, 'dist', 'worker.js');
export const cliScript = path.join(repoRoot, 'dist', 'cli.js');
export const testOutput = path.join(repoRoot, '.test-output');

export function fixtureModel(name: string): string {
  return path.join(fixtureModels, name);
}
