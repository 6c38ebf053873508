// Test index loaded by the real extension host (extensionTestsPath); see test/harness/extensionTestIndex.ts.
import { createRun } from '../harness/extensionTestIndex';
import { register as extension } from './extension.test';

export const run = createRun({ suites: { extension }, timeout: 30_000 });
