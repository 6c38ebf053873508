import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { WebviewChannel, type WebviewPage } from '../../src/vscode/webviewChannel';
import { Logger } from '../../src/vscode/logger';
import { reportViewRequestError } from '../../src/vscode/errors';
import { WorkerRequestError } from '../../src/core/worker/modelWorkerClient';

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

/** A real Logger over a channel that keeps its lines, `level message`. */
function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  const channel = { trace: record('trace'), debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  return { logger: new Logger(channel as unknown as vscode.LogOutputChannel, 'test'), lines };
}
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

    it('5,000 invalid messages make a bounded number of log lines: the first few, then one line that counts the rest', () => {
      const { logger: recording, lines } = recordingLogger();
      const channel = new WebviewChannel<Out, In>({ name: 'test page', guard: isIn, logger: recording });
      const p = fakePage();
      const asked: unknown[] = [];
      channel.onDidRequest((m) => asked.push(m));
      channel.connect(p.page);
      for (let i = 0; i < 5000; i++) p.send({ type: 'evil', n: i, padding: 'x'.repeat(1000) });
      p.send({ type: 'ask', q: 'still answered' });
      assert.deepEqual(asked, [{ type: 'ask', q: 'still answered' }]);
      assert.equal(lines.length, 5, lines.join('\n'));
      assert.ok(lines.every((l) => l.startsWith('warn [test] ignored an invalid message from the test page') && l.length < 400));
      assert.match(lines[4]!, /further invalid messages from the test page are counted, not logged, for 60 s/);
      channel.dispose();
      assert.equal(lines.length, 6);
      assert.equal(lines[5], 'warn [test] 4995 more invalid messages from the test page in 60 s were not logged');
    });

    it('after the interval the count is logged by itself and the next invalid messages are logged again', async () => {
      const { logger: recording, lines } = recordingLogger();
      const channel = new WebviewChannel<Out, In>({ name: 'test page', guard: isIn, logger: recording, invalidLogLimit: { first: 2, intervalMs: 100 } });
      const p = fakePage();
      channel.connect(p.page);
      for (let i = 0; i < 50; i++) p.send({ type: 'evil', n: i });
      assert.equal(lines.length, 2);
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.equal(lines.length, 3, 'the count came at the end of the interval, without another message');
      assert.match(lines[2]!, /^warn \[test\] 48 more invalid messages from the test page in 0.1 s were not logged$/);
      p.send({ type: 'evil', n: -1 });
      assert.equal(lines.length, 4);
      assert.match(lines[3]!, /"n":-1/);
      channel.dispose();
      assert.equal(lines.length, 4, 'nothing more to count');
    });

    it('a request about attention maps no longer kept is logged at debug level without a stack, and no request error raises a notification', async () => {
      const { logger: recording, lines } = recordingLogger();
      const window = vscode.window as unknown as Record<string, unknown>;
      const kinds = ['showInformationMessage', 'showWarningMessage', 'showErrorMessage'] as const;
      const originals = kinds.map((k) => window[k]);
      const shown: string[] = [];
      kinds.forEach((k) => {
        window[k] = (message: string) => Promise.resolve(void shown.push(message));
      });
      try {
        reportViewRequestError(recording, "The Attention view's requestLayer request failed", new WorkerRequestError('expired', 'These attention maps are no longer kept; inspect the text again.'));
        assert.deepEqual(lines, ["debug [test] The Attention view's requestLayer request failed: These attention maps are no longer kept; inspect the text again."]);
        reportViewRequestError(recording, 'Could not export the attention', new Error('disk full'));
        assert.equal(lines.length, 2);
        assert.match(lines[1]!, /^error \[test\] Could not export the attention: Error: disk full\n\s+at /, 'an unexpected failure keeps its stack');
        reportViewRequestError(recording, 'Could not compute attention', new vscode.CancellationError());
        assert.equal(lines.length, 2, 'cancellations are silent');
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        kinds.forEach((k, i) => {
          window[k] = originals[i];
        });
      }
      assert.deepEqual(shown, []);
    });
  });
}
