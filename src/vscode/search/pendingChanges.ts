/**
 * File events waiting to be applied to the index, coalesced per URI (VS Code-free, unit-tested). A burst of events
 * (a branch switch, a folder copied in) becomes one full rescan instead of thousands of single updates; a rescan only
 * reads files whose size or mtime changed and only embeds passages never seen before, so it is cheap.
 */

export type ChangeKind = 'changed' | 'deleted';

export interface Rename {
  readonly oldUri: string;
  readonly newUri: string;
}

export interface ChangeBatch {
  /** List the whole workspace again (ignore rules or folders changed, or too many events). */
  readonly full: boolean;
  readonly renames: readonly Rename[];
  /** Created or modified, in the order first seen. */
  readonly changed: readonly string[];
  readonly deleted: readonly string[];
}

export class PendingChanges {
  private byUri = new Map<string, ChangeKind>();
  private renames: Rename[] = [];
  private full = false;

  /** @param maxEvents more distinct URIs than this turn the batch into a full rescan. */
  constructor(private readonly maxEvents = 500) {}

  /** Records an event; the latest kind per URI wins (deleted then re-created is `changed`). */
  add(uri: string, kind: ChangeKind): void {
    if (this.full) return;
    this.byUri.delete(uri);
    this.byUri.set(uri, kind);
    if (this.byUri.size > this.maxEvents) this.requestFull();
  }

  rename(oldUri: string, newUri: string): void {
    if (!this.full) this.renames.push({ oldUri, newUri });
  }

  requestFull(): void {
    this.full = true;
    this.byUri.clear();
    this.renames = [];
  }

  get empty(): boolean {
    return !this.full && this.byUri.size === 0 && this.renames.length === 0;
  }

  get fullRequested(): boolean {
    return this.full;
  }

  /** Everything recorded so far; leaves the set empty. */
  take(): ChangeBatch {
    const batch: ChangeBatch = {
      full: this.full,
      renames: this.renames,
      changed: [...this.byUri].filter(([, k]) => k === 'changed').map(([u]) => u),
      deleted: [...this.byUri].filter(([, k]) => k === 'deleted').map(([u]) => u),
    };
    this.byUri = new Map();
    this.renames = [];
    this.full = false;
    return batch;
  }
}
