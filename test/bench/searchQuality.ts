// Search-quality benchmark: how well semantic search ranks the right file and passage for paraphrased questions, on
// the corpora of test/eval/*.json (undici's Markdown docs and lodash's modules, from the pinned npm packages), with
// the bundled encoder (bundled:use-lite) and the real index (SemanticIndex, as the CLI's `search` uses it).
//
//   node esbuild.js && node out/bench/searchQuality.js [--sets undici-docs,lodash] [--modes lexical,vector,hybrid]
//                                                      [--weights 0.5,0.7] [--markdown] [--json FILE] [--embed-cache DIR]
//
// Per corpus and mode: MRR@10, nDCG@10 and Recall@1/5/10 over files, and MRR@10 over passages (a passage counts when
// it overlaps a relevant line range), for the tuned questions and the held-out third apart, next to a plain BM25
// over whole files computed in the same run; and the time to index the corpus from an empty store.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runUpdate, SemanticIndex } from '../../src/core/search/semanticIndex';
import type { SearchMode } from '../../src/core/search/types';
import { WorkerEmbedder } from '../../src/core/search/workerEmbedder';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import { percentile } from '../harness/bench';
import { CachedEmbedder, CorpusFiles, corpusTexts, EVAL_SETS, evaluateIndex, evaluateWholeFileBm25, loadEvalSet, mean, type Answer, type EvalSet, type Scores } from '../harness/searchEval';
import { workerScript } from '../harness/paths';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const sets = arg('sets', EVAL_SETS.join(',')).split(',');
const modes = arg('modes', 'lexical,vector,hybrid').split(',') as SearchMode[];
/** Extra hybrid rows, one per share of the words (tuning the fusion). */
const weights = arg('weights', '').split(',').filter((w) => w !== '').map(Number);
const bm25 = { ...(arg('k1', '') ? { k1: Number(arg('k1', '')) } : {}), ...(arg('b', '') ? { b: Number(arg('b', '')) } : {}) };
const markdown = process.argv.includes('--markdown');
/** Per question of the tuned half: the rank of its best relevant file in each mode, and hybrid's first file. */
const verbose = process.argv.includes('--verbose');
const jsonOut = arg('json', '');
/** For tuning only: vectors cached on disk by text, so index times are not cold. */
const embedCache = arg('embed-cache', '');

interface Row {
  readonly set: string;
  readonly method: string;
  readonly half: 'tuned' | 'held-out';
  readonly scores: Scores;
}

function halves(set: EvalSet, method: string, perQuery: readonly Scores[]): Row[] {
  const pick = (heldOut: boolean): Scores => mean(perQuery.filter((_, i) => set.queries[i]!.heldOut === heldOut));
  return [
    { set: set.name, method, half: 'tuned', scores: pick(false) },
    { set: set.name, method, half: 'held-out', scores: pick(true) },
  ];
}

async function evaluateSet(client: ModelWorkerClient, set: EvalSet): Promise<{ rows: Row[]; indexSeconds: number; files: number; chunks: number }> {
  const source = new CorpusFiles(set);
  const rows = halves(set, 'bm25 whole files', evaluateWholeFileBm25(await corpusTexts(source), set.queries));
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-search-quality-'));
  try {
    const worker = await WorkerEmbedder.create(client, { ref: 'bundled:use-lite', dir: '', dtype: 'fp32' });
    const embedder = embedCache ? new CachedEmbedder(worker, embedCache) : worker;
    const index = await SemanticIndex.open({ storeDir: store, embedder, bm25 });
    const t = performance.now();
    await runUpdate(index.update(source));
    const indexSeconds = (performance.now() - t) / 1000;
    const answers = new Map<string, Answer[]>();
    for (const mode of modes) {
      answers.set(mode, await evaluateIndex(index, set.queries, mode));
      rows.push(...halves(set, mode, answers.get(mode)!));
    }
    if (verbose) printRanks(set, answers);
    const vector = answers.get('vector');
    if (vector) similarityLine(set.name, vector);
    for (const w of weights) rows.push(...halves(set, `hybrid w=${w}`, await evaluateIndex(index, set.queries, 'hybrid', { lexicalWeight: w })));
    const { files, chunks } = index.stats();
    await index.close();
    return { rows, indexSeconds, files, chunks };
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
}

const f3 = (x: number): string => x.toFixed(3);

/** Where a weak-match floor for this model could sit: similarities of the first vector hit, relevant or not. */
function similarityLine(name: string, answers: readonly Answer[]): void {
  const sims = (relevant: boolean): number[] => answers.filter((a) => a.topSimilarity !== undefined && a.topRelevant === relevant).map((a) => a.topSimilarity!);
  const right = sims(true);
  const wrong = sims(false);
  const f = (v: number[], p: number): string => (v.length > 0 ? percentile(v, p).toFixed(3) : '-');
  console.log(`${name}: similarity of the first vector hit: relevant p10 ${f(right, 10)} p50 ${f(right, 50)} (${right.length}); not relevant p50 ${f(wrong, 50)} p90 ${f(wrong, 90)} (${wrong.length})`);
}

function printRanks(set: EvalSet, answers: Map<string, Answer[]>): void {
  set.queries.forEach((q, i) => {
    if (q.heldOut) return;
    const ranks = [...answers].map(([mode, a]) => `${mode[0]}${a[i]!.mrr > 0 ? Math.round(1 / a[i]!.mrr) : '-'}`);
    console.log(`${q.id} ${ranks.join(' ').padEnd(12)} ${q.query.slice(0, 60).padEnd(60)} → ${q.relevant[0]!.path} | ${answers.get('hybrid')?.[i]!.files.slice(0, 3).join(' ')}`);
  });
}

function table(rows: readonly Row[]): string {
  const head = ['corpus', 'method', 'half', 'MRR@10', 'nDCG@10', 'R@1', 'R@5', 'R@10', 'passage MRR@10'];
  const body = rows.map((r) => [r.set, r.method, r.half, f3(r.scores.mrr), f3(r.scores.ndcg), f3(r.scores.r1), f3(r.scores.r5), f3(r.scores.r10), f3(r.scores.passageMrr)]);
  if (markdown) return [head, head.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cells) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  console.log(`search quality · bundled:use-lite · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`);
  const client = new ModelWorkerClient({ workerScript });
  const rows: Row[] = [];
  try {
    for (const name of sets) {
      const set = loadEvalSet(name);
      const r = await evaluateSet(client, set);
      const heldOut = set.queries.filter((q) => q.heldOut).length;
      console.log(`${set.name} (${set.package}@${set.version}): ${r.files} files, ${r.chunks} passages, indexed in ${r.indexSeconds.toFixed(1)} s${embedCache ? ' (vectors from the cache)' : ''}; ${set.queries.length - heldOut} tuned + ${heldOut} held-out questions`);
      rows.push(...r.rows);
    }
  } finally {
    await client.dispose();
  }
  console.log(`\n${table(rows)}`);
  if (jsonOut) fs.writeFileSync(jsonOut, `${JSON.stringify(rows, null, 1)}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
