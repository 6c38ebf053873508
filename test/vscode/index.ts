// Test index loaded by the real extension host (extensionTestsPath); see test/harness/extensionTestIndex.ts.
import { createRun } from '../harness/extensionTestIndex';
import { register as extension } from './extension.test';
import { register as summary } from './summary.test';
import { register as models } from './models.test';
import { register as modelsRestricted } from './modelsRestricted.test';
import { register as search } from './search.test';
import { register as webviewChannel } from './webviewChannel.test';

export const run = createRun({ suites: { extension, webviewChannel, summary, search, models, modelsRestricted }, timeout: 30_000 });
