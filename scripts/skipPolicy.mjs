// Which skipped tests may pass: those that test/allowed-skips.json names by full title, with a written reason.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The allow-list as a map from full test title to reason; entries without a reason are refused. */
export function readAllowedSkips(root) {
  const entries = JSON.parse(fs.readFileSync(path.join(root, 'test', 'allowed-skips.json'), 'utf8'));
  const allowed = new Map();
  for (const e of entries) {
    if (typeof e.test !== 'string' || typeof e.reason !== 'string' || e.reason.trim() === '') throw new Error(`test/allowed-skips.json: every entry needs "test" and a "reason": ${JSON.stringify(e)}`);
    allowed.set(e.test, e.reason);
  }
  return allowed;
}

/** How a skip is reported, and whether it counts as a failure. */
export function judgeSkip(allowed, tier, title) {
  const reason = allowed.get(title);
  return reason
    ? { fails: false, line: `${tier}: ${title} (allowed: ${reason})` }
    : { fails: true, line: `${tier}: skipped without an allowed reason (test/allowed-skips.json): ${title}` };
}
