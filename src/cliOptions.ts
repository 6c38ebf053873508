/**
 * The CLI's command line: one table of options, the subcommand shape, parsing into one-line usage errors, and the
 * help text generated from both tables.
 */
import { parseArgs } from 'node:util';

/** Wrong words on the command line: exit code 2, one line that says what was wrong and where the help is. */
export class UsageError extends Error {}

/** The documented exit codes. */
export const EXIT = { ok: 0, failure: 1, usage: 2, cancelled: 130 } as const;

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's placeholder in help, for string options. */
  readonly value?: string;
  readonly help: string;
}

/** Every option any subcommand takes; a subcommand lists the ones that apply to it. */
export const OPTIONS = {
  model: { type: 'string', value: '<ref>', help: 'Hub id, a folder in transformers.js layout, or bundled:use-lite (offline)' },
  dtype: { type: 'string', value: '<dtype>', help: 'fp32 (onnx/model.onnx, default) or q8 (onnx/model_quantized.onnx)' },
  json: { type: 'boolean', help: 'machine-readable output on stdout' },
  mirror: { type: 'string', value: '<url>', help: 'Hugging Face Hub mirror (default https://huggingface.co, or $BERT_LENS_HUB_MIRROR); downloads use HTTPS_PROXY/NO_PROXY' },
  offline: { type: 'boolean', help: 'never download; use cached or local models only' },
  'cache-dir': { type: 'string', value: '<dir>', help: 'where downloaded models live (default $BERT_LENS_CACHE or ~/.cache/bert-lens)' },
  'max-tokens': { type: 'string', value: '<N>', help: 'most tokens an abstractive summary generates' },
  sentences: { type: 'string', value: '<N>', help: 'sentences an extractive summary picks' },
  store: { type: 'string', value: '<dir>', help: 'index folder (default <cache-dir>/indexes/<folder>-<hash>)' },
  dir: { type: 'string', value: '<dir>', help: 'folder to search (default .); honours .gitignore, skips binary files and files over 1 MiB' },
  mode: { type: 'string', value: '<mode>', help: 'search: hybrid (BM25 + vectors, default), vector or lexical; summarize: abstractive or extractive' },
  k: { type: 'string', short: 'k', value: '<N>', help: 'results per query (default 10)' },
  queries: { type: 'string', value: '<file|->', help: 'read queries from a file, one per line (- for stdin); prints JSON lines' },
  help: { type: 'boolean', short: 'h', help: 'show help (for a command: bert-lens <command> --help)' },
  version: { type: 'boolean', short: 'v', help: 'print the version' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;
export type OptionValues = { -readonly [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

/** The options every model-running subcommand takes. */
export const MODEL_OPTIONS: readonly OptionName[] = ['model', 'dtype', 'json', 'mirror', 'offline', 'cache-dir'];

export interface Subcommand {
  readonly name: string;
  /** Argument forms after the command's name, one a line. */
  readonly synopsis: readonly string[];
  readonly summary: string;
  readonly options: readonly OptionName[];
  /** Help that says more than the option table for this command. */
  readonly optionHelp?: Partial<Record<OptionName, string>>;
  run(values: OptionValues, positionals: string[]): Promise<number>;
}

export type CommandLine =
  | { readonly kind: 'version' }
  | { readonly kind: 'help'; readonly command: Subcommand | undefined }
  | { readonly kind: 'missing' }
  | { readonly kind: 'run'; readonly command: Subcommand; readonly values: OptionValues; readonly positionals: string[] };

/** Reads `argv` against the tables; throws {@link UsageError} for anything the tables do not allow. */
export function parseCommandLine(argv: readonly string[], commands: readonly Subcommand[]): CommandLine {
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const positionals = tokens.flatMap((t) => (t.kind === 'positional' ? [t.value] : []));
  const name = positionals.shift();
  const command = name === undefined ? undefined : commands.find((c) => c.name === name);
  if (name !== undefined && !command) {
    throw new UsageError(`unknown command "${name}"${closest(name, commands.map((c) => c.name), (c) => ` (did you mean "${c}"?)`)}; run bert-lens --help for the list`);
  }
  const allowed: readonly OptionName[] = command ? [...command.options, 'help', 'version'] : ['help', 'version'];
  const values: OptionValues = {};
  const set = values as Record<string, string | boolean>;
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const where = command ? `bert-lens ${command.name} --help` : 'bert-lens --help';
    const spec = (OPTIONS as Record<string, OptionSpec>)[t.name];
    if (!spec) {
      const flags = allowed.map((o) => `--${o}`);
      throw new UsageError(`unknown option ${t.rawName}${closest(t.rawName, flags, (f) => ` (did you mean ${f}?)`)}; run ${where} for the options`);
    }
    if (!allowed.includes(t.name as OptionName)) throw new UsageError(`${t.rawName} does not apply to ${command ? command.name : 'bert-lens without a command'}; run ${where} for the options`);
    if (spec.type === 'string' && t.value === undefined) throw new UsageError(`${t.rawName} needs a value: ${t.rawName} ${spec.value ?? '<value>'}`);
    if (spec.type === 'boolean' && t.inlineValue) throw new UsageError(`${t.rawName} takes no value; write ${t.rawName} alone`);
    set[t.name] = spec.type === 'string' ? t.value! : true;
  }
  if (values.version) return { kind: 'version' };
  if (values.help) return { kind: 'help', command };
  if (!command) return { kind: 'missing' };
  return { kind: 'run', command, values, positionals };
}

/**
 * The candidate nearest to `word`, formatted, or '' when none is near (more edits than a third of its length, or 2).
 * A tie goes to the candidate of the same length: `--modle` is `--model` with two letters swapped, not `--mode`.
 */
function closest(word: string, candidates: readonly string[], format: (c: string) => string): string {
  const limit = Math.max(2, Math.floor(word.length / 3));
  const score = (c: string): number => editDistance(word, c) * 2 + (c.length === word.length ? 0 : 1);
  const best = candidates.filter((c) => editDistance(word, c) <= limit).sort((a, b) => score(a) - score(b))[0];
  return best === undefined ? '' : format(best);
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

const EXIT_CODES = `Exit codes: ${EXIT.ok} done, ${EXIT.failure} failed (the message says why), ${EXIT.usage} usage error, ${EXIT.cancelled} cancelled (Ctrl+C).`;

function optionLines(names: readonly OptionName[], command?: Subcommand): string[] {
  return names.map((name) => {
    const spec: OptionSpec = OPTIONS[name];
    const flag = `${'short' in spec && spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return `  ${flag.padEnd(26)} ${command?.optionHelp?.[name] ?? spec.help}`;
  });
}

/** `bert-lens --help`: every subcommand and the options they share. */
export function generalHelp(commands: readonly Subcommand[]): string {
  return [
    'Usage: bert-lens <command> [arguments] [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    'Options most commands take:',
    ...optionLines([...MODEL_OPTIONS, 'help', 'version']),
    '',
    'Run bert-lens <command> --help for a command\'s arguments and options.',
    EXIT_CODES,
  ].join('\n');
}

/** `bert-lens <command> --help`. */
export function commandHelp(command: Subcommand): string {
  return [
    ...command.synopsis.map((s, i) => `${i === 0 ? 'Usage:' : '      '} bert-lens ${command.name} ${s}`),
    '',
    command.summary,
    '',
    'Options:',
    ...optionLines([...command.options, 'help'], command),
    '',
    EXIT_CODES,
  ].join('\n');
}
