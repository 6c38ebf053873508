/** Small shape checks shared by the message guards of every protocol. */
import type { TokenSpan } from './attention';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A non-negative integer: an index, a count, an id. */
export function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

export function isTokenSpan(t: unknown): t is TokenSpan {
  return isRecord(t) && typeof t.text === 'string' && typeof t.start === 'number' && typeof t.end === 'number' && typeof t.special === 'boolean';
}
