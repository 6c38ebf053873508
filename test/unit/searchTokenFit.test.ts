import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeFileSource } from '../../src/core/search/nodeFileSource';
import { runUpdate, SemanticIndex } from '../../src/core/search/semanticIndex';
import type { Embedder, UpdateSummary } from '../../src/core/search/types';
import { WorkerEmbedder } from '../../src/core/search/workerEmbedder';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import type { LocalModel } from '../../src/protocol/worker';
import { fixtureModel, workerScript } from '../harness/paths';

/** Files the chunker's estimate gets wrong: padded tables, one huge line, CJK without spaces, emoji, long code lines. */
function hardCorpus(dir: string): Record<string, string> {
  const row = (cells: string[]): string => `| ${cells.map((c) => c.padEnd(40, ' ')).join(' | ')} |`;
  const files: Record<string, string> = {
    'table.md': ['# Settings', '', row(['name', 'default', 'meaning']), row(['---', '---', '---']), ...Array.from({ length: 30 }, (_, i) => row([`option.number${i}`, String(i * 7), `what option ${i} changes when it is set`]))].join('\n'),
    'oneline.txt': Array.from({ length: 900 }, (_, i) => `word${i % 37}`).join(' '),
    'cjk.md': ['# 日本語の文書', '', '検索エンジンは文書を小さな部分に分けてから意味のベクトルに変換します。'.repeat(12), '', '中文段落没有空格所以估计会出错。'.repeat(15)].join('\n'),
    'emoji.txt': '😀🎉👍🏽🇫🇷 '.repeat(200),
    'code.ts': Array.from({ length: 40 }, (_, i) => `export const value${i} = [${Array.from({ length: 30 }, (_, j) => `'item${i}_${j}'`).join(', ')}];`).join('\n'),
  };
  for (const [rel, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, rel), text);
  return files;
}

/** `inner`, recording every text sent to be embedded. */
function recording(inner: WorkerEmbedder, sent: string[]): Embedder {
  return {
    modelKey: inner.modelKey,
    dims: inner.dims,
    maxTokens: inner.maxTokens,
    embed: (texts, signal) => {
      sent.push(...texts);
      return inner.embed(texts, signal);
    },
    inputTokenCounts: (texts, signal) => inner.inputTokenCounts(texts, signal),
  };
}

function offsetsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

describe('search: every passage fits the model by its own tokenizer (issue 16 item 1)', function () {
  this.timeout(180_000);
  let client: ModelWorkerClient;
  let root: string;
  before(() => {
    client = new ModelWorkerClient({ workerScript });
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-fit-'));
  });
  after(async () => {
    await client.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const models: [string, LocalModel][] = [
    ['bundled:use-lite', { ref: 'bundled:use-lite', dir: '', dtype: 'fp32' }],
    ['tiny-bert-wide (40 tokens)', { ref: 'tiny-bert-wide', dir: fixtureModel('tiny-bert-wide'), dtype: 'fp32' }],
  ];
  for (const [name, model] of models) {
    it(`${name}: no passage over the limit, every character of every file in some passage`, async () => {
      const corpus = fs.mkdtempSync(path.join(root, 'corpus-'));
      const files = hardCorpus(corpus);
      const inner = await WorkerEmbedder.create(client, model);
      const sent: string[] = [];
      const index = await SemanticIndex.open({ storeDir: fs.mkdtempSync(path.join(root, 'store-')), embedder: recording(inner, sent) });
      let summary: UpdateSummary;
      try {
        summary = await runUpdate(index.update(new NodeFileSource(corpus)));
        const counts = await inner.inputTokenCounts(sent);
        const over = sent.filter((_, i) => counts[i]! > inner.maxTokens);
        assert.deepEqual(over.map((t) => t.slice(0, 60)), [], `${over.length} of ${sent.length} passages over ${inner.maxTokens} tokens`);
        assert.ok(summary.passagesSplit > 0, 'the estimate was wrong somewhere, and the tokenizer caught it');
        for (const doc of index.documents()) {
          const text = files[doc.relPath]!;
          const starts = offsetsOf(text);
          const covered = new Uint8Array(text.length);
          for (const c of doc.chunks) covered.fill(1, starts[c.startLine]! + c.startCharacter, starts[c.endLine]! + c.endCharacter);
          let missed = -1;
          for (let i = 0; i < text.length && missed < 0; i++) if (!covered[i] && /\S/.test(text[i]!)) missed = i;
          assert.equal(missed, -1, `${doc.relPath}: character ${missed} (${JSON.stringify(text.slice(missed, missed + 10))}) is in no passage`);
        }
      } finally {
        await index.close();
      }
    });
  }
});
