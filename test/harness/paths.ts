import * as path from 'node:path';

/** Repository root, from a bundle under out/test/<tier>/. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const fixtureModels = path.join(repoRoot, 'test', 'fixtures', 'models');
export const workerScript = path.join(repoRoot, 'dist', 'worker.js');
export const cliScript = path.join(repoRoot, 'dist', 'cli.js');
export const testOutput = path.join(repoRoot, '.test-output');

export function fixtureModel(name: string): string {
  return path.join(fixtureModels, name);
}
