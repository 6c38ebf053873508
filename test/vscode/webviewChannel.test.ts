import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { WebviewChannel, type WebviewPage } from '../../src/vscode/webviewChannel';
import type { Logger } from '../../src/vscode/logger';

type Out = { type: 'a'; n: number } | { type: 'b'; n: number };
type In = { type: 'ready' } | { type: 'ask'; q: string };

/** A page whose messages and lifecycle the test drives. */
function fakePage() {
  const fromPage = new vscode.EventEmitter<unknown>();
  const disposed = new vscode.EventEmitter<void>();
  const visibility = new vscode.EventEmitter<unknown>();
  const posted: unknown[] = [];
  let visible = true;
  const page: WebviewPage = {
    webview: { onDidReceiveMessage: fromPage.event, postMessage: async (m: unknown) => posted.push(m) > 0 } as unknown as vscode.Webview,
    onDidDispose: disposed.event,
    onDidChangeVisibility: visibility.event,
    get visible() {
      return visible;
    },
  };
  return {
    page,
    posted,
    send: (m: unknown) => fromPage.fire(m),
    hide: () => {
      visible = false;
      visibility.fire(undefined);
    },
    dispose: () => disposed.fire(),
  };
}

const logger = { warn: () => undefined } as unknown as Logger;
const isIn = (m: unknown): m is In => typeof m === 'object' && m !== null && ((m as In).type === 'ready' || ((m as In).type === 'ask' && typeof (m as { q?: unknown }).q === 'string'));

export function register(): void {
  describe('webview channel', () => {
    it('holds posts until ready (newest of each type by default), greets a new page first, validates what the page sends', () => {
      const channel = new WebviewChannel<Out, In>({ name: 'test', guard: isIn, logger, greeting: () => [{ type: 'b', n: 0 }] });
      const p = fakePage();
      const asked: unknown[] = [];
      channel.onDidRequest((m) => asked.push(m));
      channel.connect(p.page);
      channel.post({ type: 'a', n: 1 });
      channel.post({ type: 'a', n: 2 });
      assert.deepEqual(p.posted, []);
      p.send({ type: 'ready' });
      assert.deepEqual(p.posted, [{ type: 'b', n: 0 }, { type: 'a', n: 2 }]);
      channel.post({ type: 'b', n: 3 });
      assert.deepEqual(p.posted.at(-1), { type: 'b', n: 3 });
      p.send({ type: 'ask', q: 'x' });
      p.send({ type: 'ask', q: 42 });
      p.send({ type: 'evil', path: '/etc/passwd' });
      assert.deepEqual(asked, [{ type: 'ask', q: 'x' }]);
      channel.dispose();
    });

    it('waits for a new ready after the page is hidden, and drops everything when it is disposed', () => {
      const channel = new WebviewChannel<Out, In>({ name: 'test', guard: isIn, logger });
      const p = fakePage();
      channel.connect(p.page);
      p.send({ type: 'ready' });
      p.hide();
      assert.equal(channel.isReady, false);
      channel.post({ type: 'a', n: 1 });
      assert.deepEqual(p.posted, []);
      p.send({ type: 'ready' });
      assert.deepEqual(p.posted, [{ type: 'a', n: 1 }]);
      let gone = 0;
      channel.onDidDispose(() => gone++);
      p.dispose();
      assert.equal(gone, 1);
      assert.equal(channel.connected, false);
      channel.post({ type: 'a', n: 2 });
      const q = fakePage();
      channel.connect(q.page);
      q.send({ type: 'ready' });
      assert.deepEqual(q.posted, [], 'nothing was held without a page');
      channel.dispose();
    });
  });
}
