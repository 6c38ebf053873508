import * as assert from 'node:assert/strict';
import { isAttentionViewMessage, isHostToAttentionView } from '../../src/protocol/attentionView';
import { isHostToWorker } from '../../src/protocol/worker';

const model = { ref: 'x', dir: '/m', dtype: 'fp32' };
const token = { text: 'a', start: 0, end: 1, special: false };

function showMessage(overrides: Record<string, unknown> = {}): unknown {
  return {
    type: 'show',
    payload: {
      model: 'm',
      tokens: [token, token],
      layers: 1,
      heads: 2,
      id: 1,
      layer: 0,
      layerWeights: new Uint16Array(8),
      layerMeans: new Uint16Array(4),
      thumbnailSize: 2,
      thumbnails: new Uint8Array(8),
      truncated: false,
      maxTokens: 512,
      inputTokens: 2,
      window: { start: 0, textTokens: 0 },
      read: { chars: 10, totalChars: 10 },
      source: { label: 'a.md:1', uri: 'file:///a.md', offset: 0 },
      elapsedMs: 3,
      sentAt: 0,
      ...overrides,
    },
  };
}

describe('protocol guards', () => {
  it('accept well-formed worker requests and reject malformed ones', () => {
    assert.ok(isHostToWorker({ kind: 'request', id: 1, request: { type: 'embed', model, texts: ['a', 'b'] } }));
    assert.ok(isHostToWorker({ kind: 'request', id: 2, request: { type: 'attention', model, text: 'a' } }));
    assert.ok(isHostToWorker({ kind: 'cancel', id: 2 }));
    assert.ok(!isHostToWorker({ kind: 'request', id: '1', request: { type: 'attention', model, text: 'a' } }));
    assert.ok(!isHostToWorker({ kind: 'request', id: 1, request: { type: 'embed', model, texts: [1] } }));
    assert.ok(!isHostToWorker({ kind: 'request', id: 1, request: { type: 'attention', model: { ...model, dtype: 'fp16' }, text: 'a' } }));
    assert.ok(!isHostToWorker({ kind: 'request', id: 1, request: { type: 'rm -rf', model } }));
    assert.ok(!isHostToWorker(null));
  });

  it('accept only the known webview messages, with no extra fields', () => {
    assert.ok(isAttentionViewMessage({ type: 'ready' }));
    assert.ok(isAttentionViewMessage({ type: 'inspectSelection' }));
    assert.ok(isAttentionViewMessage({ type: 'highlightToken', index: 3, reveal: true }));
    assert.ok(isAttentionViewMessage({ type: 'highlightToken', index: null, reveal: false }));
    assert.ok(!isAttentionViewMessage({ type: 'highlightToken', index: -1, reveal: false }));
    assert.ok(!isAttentionViewMessage({ type: 'highlightToken', index: 1.5, reveal: false }));
    assert.ok(isAttentionViewMessage({ type: 'moveWindow', start: 100 }));
    assert.ok(!isAttentionViewMessage({ type: 'moveWindow', start: '100' }));
    assert.ok(isAttentionViewMessage({ type: 'exportImage', format: 'png', data: 'data:image/png;base64,AAAA' }));
    // The host writes no SVG: markup from a webview would be a file the user opens in a browser (issue 14 item 8).
    assert.ok(!isAttentionViewMessage({ type: 'exportImage', format: 'svg', data: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' }));
    assert.ok(!isAttentionViewMessage({ type: 'exportImage', format: 'png', data: 'javascript:alert(1)' }));
    assert.ok(!isAttentionViewMessage({ type: 'exportImage', format: 'exe', data: 'data:image/png;base64,AAAA' }));
    assert.ok(!isAttentionViewMessage({ type: 'ready', extra: 1 }));
    assert.ok(!isAttentionViewMessage({ type: 'openFile', path: '/etc/passwd' }));
    assert.ok(!isAttentionViewMessage('ready'));
  });

  it('check the size of attention data sent to the webview', () => {
    assert.ok(isHostToAttentionView(showMessage()));
    assert.ok(!isHostToAttentionView(showMessage({ layerWeights: new Uint16Array(7) })), 'wrong length');
    assert.ok(!isHostToAttentionView(showMessage({ layerWeights: [0, 0, 0, 0, 0, 0, 0, 0] })), 'not a Uint16Array');
    assert.ok(!isHostToAttentionView(showMessage({ layerMeans: new Uint16Array(8) })), 'means of the wrong size');
    assert.ok(!isHostToAttentionView(showMessage({ layer: 1 })), 'layer out of range');
    assert.ok(isHostToAttentionView({ type: 'layer', id: 1, layer: 0, weights: new Uint16Array(8) }));
    assert.ok(!isHostToAttentionView({ type: 'layer', id: 1, layer: 0, weights: new Float32Array(8) }));
    assert.ok(!isHostToAttentionView(showMessage({ tokens: [{ text: 'a' }] })), 'bad token');
    assert.ok(!isHostToAttentionView(showMessage({ layers: -1 })));
    assert.ok(isHostToAttentionView({ type: 'error', message: 'x' }));
    assert.ok(!isHostToAttentionView({ type: 'error' }));
  });
});
