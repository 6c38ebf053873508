// Runs every test tier and prints `N passed, N failed` last.
//   node scripts/test.mjs                 lint, typecheck, build, unit, vscode (extension host), browser
//   node scripts/test.mjs unit vscode     only the named tiers (lint/typecheck/build always run first)
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { judgeSkip, readAllowedSkips } from './skipPolicy.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
process.env.ORT_DISABLE_TELEMETRY = '1';

const requested = process.argv.slice(2);
const tiers = requested.length > 0 ? requested : ['unit', 'vscode', 'browser'];
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
/**
 * Skipped tests are counted and shown. A skip passes only when test/allowed-skips.json names its full title with a
 * reason; any other skip is a failure, so a regression cannot hide as a skip.
 */
const allowedSkips = readAllowedSkips(root);
const skips = [];

function recordSkip(tier, title) {
  totals.skipped++;
  const verdict = judgeSkip(allowedSkips, tier, title);
  skips.push(verdict.line);
  if (verdict.fails) {
    totals.failed++;
    failures.push(verdict.line);
  }
}

function step(name, command, args) {
  const started = Date.now();
  process.stdout.write(`\n▶ ${name}: ${[command, ...args].join(' ')}\n`);
  const r = spawnSync(command, args, { stdio: 'inherit', env: process.env });
  const ok = r.status === 0;
  process.stdout.write(`${ok ? '✔' : '✘'} ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  record(name, ok);
  return ok;
}

function record(name, ok) {
  if (ok) totals.passed++;
  else {
    totals.failed++;
    failures.push(name);
  }
}

/** Runs mocha test files in this process and adds their results to the totals. */
async function mochaTier(name, dir, timeout) {
  const { Mocha } = require('mocha');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort() : [];
  if (files.length === 0) {
    record(`${name}: no test files in ${dir}`, false);
    return;
  }
  process.stdout.write(`\n▶ ${name} tests (${files.length} files)\n`);
  const mocha = new Mocha({ timeout, reporter: 'spec', color: process.stdout.isTTY });
  for (const f of files) mocha.addFile(path.join(dir, f));
  await mocha.loadFilesAsync();
  await new Promise((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', () => totals.passed++);
    runner.on('pending', (test) => recordSkip(name, test.fullTitle()));
    runner.on('fail', (test) => {
      totals.failed++;
      failures.push(`${name}: ${test.fullTitle()}`);
    });
  });
  mocha.dispose();
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
step('lint', npx, ['eslint', '.']);
for (const project of ['.', 'webview-ui', 'test/e2e']) step(`typecheck ${project}`, npx, ['tsc', '--noEmit', '-p', project]);
const built = step('build', process.execPath, ['esbuild.js']);
// The browser tier installs the packaged extension (test/e2e/package.test.ts): build the VSIX files it needs.
if (built && tiers.includes('browser')) step('package', process.execPath, ['scripts/package.mjs', '--targets', 'linux-x64,universal', '--if-stale']);

if (built) {
  for (const tier of tiers) {
    if (tier === 'unit') await mochaTier('unit', path.join(root, 'out/test/unit'), 30_000);
    else if (tier === 'vscode') {
      const { runVscodeTier, runRestrictedModeTier } = require(path.join(root, 'out/test/runner/vscodeTier.js'));
      for (const run of [runVscodeTier, runRestrictedModeTier]) {
        const r = await run();
        totals.passed += r.passed;
        totals.failed += r.failed;
        failures.push(...r.failures.map((f) => `vscode: ${f}`));
        for (const title of r.skipped) recordSkip('vscode', title);
      }
    } else if (tier === 'browser') await mochaTier('browser', path.join(root, 'out/test/e2e'), 120_000);
    else record(`unknown tier "${tier}"`, false);
  }
}

if (skips.length > 0) {
  process.stdout.write('\nSkipped:\n');
  for (const s of skips) process.stdout.write(`  - ${s}\n`);
}
if (failures.length > 0) {
  process.stdout.write('\nFailed:\n');
  for (const f of failures) process.stdout.write(`  ✘ ${f}\n`);
}
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed === 0 ? 0 : 1);
