/**
 * `bert-lens summarize <file|-> [--model <ref>] [--mode abstractive|extractive] [--max-tokens N] [--sentences N] [--json]`
 *
 * Abstractive with a seq2seq model (tokens printed as they are generated; long inputs in parts), or extractive with
 * an embedding model. Without `--mode`: abstractive for a seq2seq model (a folder whose config.json says
 * `is_encoder_decoder`, or any Hub id), extractive for other folders and bundled encoders; with neither `--mode`
 * nor `--model`, the default summary model, or extractive with the bundled encoder when it cannot be downloaded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dtype, LocalModel } from './protocol/worker';
import { HubDownloader, ModelDownloadError, type DownloadProgress } from './core/models/hubDownloader';
import { modelDisplayName, parseModelRef } from './core/models/modelRef';
import { ModelResolver } from './core/models/modelResolver';
import { seq2seqFiles } from './core/summarize/seq2seqFiles';
import { abstractiveSummary, extractiveSummary } from './core/summarize/summarizer';
import { DEFAULT_SUMMARY_MODEL } from './core/summarize/summaryModels';
import { ModelWorkerClient } from './core/worker/modelWorkerClient';
import { proxyFromEnvironment } from './core/models/proxy';
import { decodeText } from './core/search/textFiles';
import { UsageError } from './cliOptions';

export interface SummarizeOptions {
  /** `--model` as given, if it was. */
  readonly model: string | undefined;
  readonly mode: 'auto' | 'abstractive' | 'extractive';
  readonly dtype: Dtype;
  readonly json: boolean;
  readonly maxTokens: number | undefined;
  readonly sentences: number | undefined;
  readonly mirror: string | undefined;
  readonly offline: boolean;
  readonly cacheDir: string;
  /** The extension file's language for extractive summaries of code (comments first); from the file name. */
  readonly languageId?: string;
}

/** Runs an extractive summary on the embedding model the other commands use (`--model`, or the default with the bundled fallback). */
export type WithEncoder = (run: (client: ModelWorkerClient, model: LocalModel) => Promise<void>) => Promise<number>;

export async function summarizeCommand(file: string, options: SummarizeOptions, withEncoder: WithEncoder): Promise<number> {
  if (options.mode === 'abstractive' && options.model !== undefined && parseModelRef(options.model).kind === 'bundled') {
    throw new UsageError(
      `the bundled ${modelDisplayName(options.model)} is an encoder and cannot write abstractive summaries; use --mode extractive with it, or a seq2seq model such as --model ${DEFAULT_SUMMARY_MODEL}`,
    );
  }
  const text = await readInput(file);
  const languageId = options.languageId ?? languageOf(file);
  let mode = options.mode;
  let seq2seq: LocalModel | undefined;
  if (mode === 'auto' && options.model !== undefined && !looksSeq2Seq(options.model)) mode = 'extractive';
  if (mode !== 'extractive') {
    const ref = options.model ?? DEFAULT_SUMMARY_MODEL;
    const resolver = new ModelResolver(new HubDownloader({ cacheDir: path.join(options.cacheDir, 'models'), host: options.mirror, allowDownloads: !options.offline, proxy: proxyFromEnvironment() }));
    try {
      seq2seq = await resolver.resolve(ref, options.dtype, { files: seq2seqFiles(options.dtype), onProgress: downloadProgress });
    } catch (e) {
      if (mode === 'abstractive' || options.model !== undefined || !(e instanceof ModelDownloadError) || e.kind === 'cancelled') throw e;
      process.stderr.write(`bert-lens: ${e.message}\nbert-lens: summarising extractively instead (pass --model or --mode to choose).\n`);
    } finally {
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    }
  }
  if (seq2seq) return abstractive(seq2seq, text, options);
  return withEncoder((client, model) => extractive(client, model, text, languageId, options));
}

async function abstractive(model: LocalModel, text: string, options: SummarizeOptions): Promise<number> {
  const client = new ModelWorkerClient({ workerScript: path.join(__dirname, 'worker.js') });
  try {
    let printed = '';
    const r = await abstractiveSummary(client, model, text, {
      ...(options.maxTokens !== undefined ? { options: { maxNewTokens: options.maxTokens } } : {}),
      ...(options.json
        ? {}
        : {
            onStream: (u) => {
              // Only the final generation streams; its deltas only ever append (beam search may replace).
              if (u.replace || !u.text.startsWith(printed)) return;
              process.stdout.write(u.text.slice(printed.length));
              printed = u.text;
            },
          }),
      onProgress: (p) => {
        if (process.stderr.isTTY && p.total !== undefined && p.total > 1) process.stderr.write(`\r${p.message}\x1b[K`);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    if (options.json) {
      const json = {
        model: model.ref,
        mode: 'abstractive',
        text: r.text,
        ids: r.final.ids,
        stoppedBy: r.final.stoppedBy,
        inputTokens: r.final.inputTokens,
        truncated: r.truncated,
        parts: r.rounds[0]?.parts.length ?? 1,
        rounds: r.rounds.length,
        elapsedMs: r.elapsedMs,
      };
      process.stdout.write(`${JSON.stringify(json)}\n`);
    } else {
      if (printed.trim() !== r.text) process.stdout.write(`${printed === '' ? '' : '\n'}${r.text}`);
      process.stdout.write('\n');
      const parts = r.rounds[0]?.parts.length;
      process.stderr.write(`(${modelDisplayName(model.ref)}, abstractive, ${r.final.ids.length - 1} tokens${parts ? `, ${parts} parts` : ''}${r.truncated ? ', input truncated' : ''})\n`);
    }
  } finally {
    await client.dispose();
  }
  return 0;
}

async function extractive(client: ModelWorkerClient, model: LocalModel, text: string, languageId: string, options: SummarizeOptions): Promise<void> {
  const r = await extractiveSummary(text, languageId, async (texts, signal) => (await client.request({ type: 'embed', model, texts }, signal ? { signal } : {})).vectors, {
    ...(options.sentences !== undefined ? { count: options.sentences } : {}),
  });
  if (options.json) {
    const lineStarts = [0];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    const position = (offset: number): { line: number; character: number } => {
      let line = 0;
      while (line + 1 < lineStarts.length && lineStarts[line + 1]! <= offset) line++;
      return { line, character: offset - lineStarts[line]! };
    };
    const sentences = r.sentences.map((s) => ({ ...s, startPosition: position(s.start), endPosition: position(s.end) }));
    process.stdout.write(`${JSON.stringify({ model: model.ref, mode: 'extractive', text: r.text, sentences, totalSentences: r.totalSentences, source: r.source })}\n`);
    return;
  }
  process.stdout.write(`${r.text}\n`);
  process.stderr.write(`(${modelDisplayName(model.ref)}, extractive, ${r.sentences.length} of ${r.totalSentences} ${r.source === 'code' ? 'lines' : 'sentences'})\n`);
}

/** A folder is seq2seq when its config.json says so; Hub ids are taken to be seq2seq exports. */
function looksSeq2Seq(value: string): boolean {
  const ref = parseModelRef(value);
  if (ref.kind === 'bundled') return false;
  if (ref.kind === 'hub') return true;
  try {
    return (JSON.parse(fs.readFileSync(path.join(ref.path, 'config.json'), 'utf8')) as { is_encoder_decoder?: unknown }).is_encoder_decoder === true;
  } catch {
    return true; // let the resolver explain what is missing
  }
}

async function readInput(file: string): Promise<string> {
  const bytes = file === '-' ? await readStdin() : await readFileBytes(file);
  const decoded = decodeText(bytes);
  if ('binary' in decoded) throw new Error(`${file === '-' ? 'standard input' : file} is binary (${decoded.detail}), not text; summarize a text file`);
  return decoded.text;
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readFileBytes(file: string): Promise<Uint8Array> {
  try {
    if ((await fs.promises.stat(file)).isDirectory()) throw new Error(`${file} is a folder; summarize takes one file (bert-lens search works on folders)`);
    return await fs.promises.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === undefined) throw e;
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file; check the path' : (e as Error).message}`, { cause: e });
  }
}

const LANGUAGES: Readonly<Record<string, string>> = {
  '.ts': 'typescript', '.tsx': 'typescriptreact', '.js': 'javascript', '.jsx': 'javascriptreact', '.mjs': 'javascript', '.cjs': 'javascript',
  '.py': 'python', '.java': 'java', '.go': 'go', '.rs': 'rust', '.cs': 'csharp', '.c': 'c', '.h': 'c', '.cpp': 'cpp', '.hpp': 'cpp',
  '.cc': 'cpp', '.php': 'php', '.rb': 'ruby', '.kt': 'kotlin', '.swift': 'swift', '.scala': 'scala', '.sh': 'shellscript',
  '.md': 'markdown', '.markdown': 'markdown', '.txt': 'plaintext', '.sql': 'sql', '.lua': 'lua',
};

function languageOf(file: string): string {
  return LANGUAGES[path.extname(file).toLowerCase()] ?? 'plaintext';
}

function downloadProgress(p: DownloadProgress): void {
  if (!process.stderr.isTTY) return;
  const share = p.fileTotal ? ` ${Math.round((100 * p.fileLoaded) / p.fileTotal)}%` : '';
  process.stderr.write(`\rdownloading ${p.file}${share} (${p.filesDone + 1}/${p.filesTotal})\x1b[K`);
}
