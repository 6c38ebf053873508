/**
 * What each model setting is for. `setting` is the key under `bertLens.`; `dtypeSetting` the key of the dtype
 * that picks the ONNX file; `kind` what the model must be (an encoder for embeddings/attention, a seq2seq model for
 * summaries).
 */
export const MODEL_ROLES = [
  {
    role: 'embeddings',
    label: 'Embeddings & attention',
    detail: 'Semantic search, similarity and the Attention view',
    setting: 'model',
    dtypeSetting: 'dtype',
    kind: 'encoder',
  },
  {
    role: 'summaries',
    label: 'Summaries',
    detail: 'The Summary panel (abstractive summaries)',
    setting: 'summary.model',
    dtypeSetting: 'summary.dtype',
    kind: 'seq2seq',
  },
  {
    role: 'hovers',
    label: 'Hover summaries',
    detail: 'Short summaries in hovers: a small, fast model',
    setting: 'summary.hoverModel',
    dtypeSetting: 'summary.dtype',
    kind: 'seq2seq',
  },
] as const;

export type ModelRoleInfo = (typeof MODEL_ROLES)[number];
export type ModelRole = ModelRoleInfo['role'];

export function isModelRole(value: unknown): value is ModelRole {
  return MODEL_ROLES.some((r) => r.role === value);
}

/** A model known to work with transformers.js, offered in the picker. */
export interface CatalogModel {
  /** Hub id in transformers.js layout (ONNX weights under `onnx/`). */
  readonly id: string;
  /** What it does, in a few words. */
  readonly task: string;
  readonly roles: readonly ModelRole[];
  /** Approximate download in MB for `bertLens.dtype` (`summary.dtype`) q8 and fp32. */
  readonly sizeMb: { readonly q8: number; readonly fp32: number };
  /** SPDX licence id of the model weights. */
  readonly license: string;
  readonly detail: string;
}

/**
 * Curated from the transformers.js model hub (Xenova/… conversions), from what their model cards said. Sizes are
 * rounded; nothing here was downloaded or run on the build machines (no Hub access there), which the picker says.
 */
export const MODEL_CATALOG: readonly CatalogModel[] = [
  {
    id: 'Xenova/all-MiniLM-L6-v2',
    task: 'sentence embeddings, English',
    roles: ['embeddings'],
    sizeMb: { q8: 23, fp32: 90 },
    license: 'Apache-2.0',
    detail: 'The default: fast and good for search. 6 layers × 12 heads, 384-d.',
  },
  {
    id: 'Xenova/all-MiniLM-L12-v2',
    task: 'sentence embeddings, English',
    roles: ['embeddings'],
    sizeMb: { q8: 34, fp32: 133 },
    license: 'Apache-2.0',
    detail: 'A little better than L6, half as fast. 12 layers × 12 heads, 384-d.',
  },
  {
    id: 'Xenova/bge-small-en-v1.5',
    task: 'sentence embeddings, English',
    roles: ['embeddings'],
    sizeMb: { q8: 34, fp32: 133 },
    license: 'MIT',
    detail: 'Strong retrieval model of its size. 12 layers × 12 heads, 384-d.',
  },
  {
    id: 'Xenova/bge-base-en-v1.5',
    task: 'sentence embeddings, English',
    roles: ['embeddings'],
    sizeMb: { q8: 110, fp32: 438 },
    license: 'MIT',
    detail: 'Better retrieval, about 3× slower than the small models. 12 layers × 12 heads, 768-d.',
  },
  {
    id: 'Xenova/gte-small',
    task: 'sentence embeddings, English',
    roles: ['embeddings'],
    sizeMb: { q8: 34, fp32: 133 },
    license: 'MIT',
    detail: 'General text embeddings. 12 layers × 12 heads, 384-d.',
  },
  {
    id: 'Xenova/paraphrase-multilingual-MiniLM-L12-v2',
    task: 'sentence embeddings, 50+ languages',
    roles: ['embeddings'],
    sizeMb: { q8: 118, fp32: 470 },
    license: 'Apache-2.0',
    detail: 'For workspaces in other languages than English. 12 layers × 12 heads, 384-d.',
  },
  {
    id: 'Xenova/bert-base-uncased',
    task: 'BERT (masked language model)',
    roles: ['embeddings'],
    sizeMb: { q8: 110, fp32: 440 },
    license: 'Apache-2.0',
    detail: 'The original BERT: its attention maps are the classic ones to study. Not trained for similarity.',
  },
  {
    id: 'Xenova/distilbert-base-uncased',
    task: 'DistilBERT (masked language model)',
    roles: ['embeddings'],
    sizeMb: { q8: 67, fp32: 268 },
    license: 'Apache-2.0',
    detail: 'BERT distilled to 6 layers × 12 heads. Not trained for similarity.',
  },
  {
    id: 'Xenova/distilbart-cnn-6-6',
    task: 'summarisation (news style, several sentences)',
    roles: ['summaries'],
    sizeMb: { q8: 300, fp32: 1200 },
    license: 'Apache-2.0',
    detail: 'The default summary model: BART distilled to 6 + 6 layers, trained on CNN/DailyMail.',
  },
  {
    id: 'Xenova/distilbart-cnn-12-6',
    task: 'summarisation (news style, several sentences)',
    roles: ['summaries'],
    sizeMb: { q8: 400, fp32: 1600 },
    license: 'Apache-2.0',
    detail: 'Better summaries than 6-6, about 1.5× slower.',
  },
  {
    id: 'Xenova/bart-large-cnn',
    task: 'summarisation (news style, several sentences)',
    roles: ['summaries'],
    sizeMb: { q8: 410, fp32: 1630 },
    license: 'MIT',
    detail: 'The full BART-large CNN model: best quality here, slowest.',
  },
  {
    id: 'Xenova/distilbart-xsum-12-1',
    task: 'summarisation (one sentence)',
    roles: ['summaries', 'hovers'],
    sizeMb: { q8: 260, fp32: 1020 },
    license: 'Apache-2.0',
    detail: 'Trained on XSum: one short, abstractive sentence. A one-layer decoder, so generation is quick.',
  },
  {
    id: 'Xenova/t5-small',
    task: 'text-to-text ("summarize: …")',
    roles: ['hovers', 'summaries'],
    sizeMb: { q8: 65, fp32: 240 },
    license: 'Apache-2.0',
    detail: 'The default hover model: small and fast, plain summaries.',
  },
  {
    id: 'Xenova/flan-t5-small',
    task: 'instruction-tuned text-to-text',
    roles: ['hovers', 'summaries'],
    sizeMb: { q8: 80, fp32: 310 },
    license: 'Apache-2.0',
    detail: 'T5 tuned on many instructions: often reads better than t5-small at the same speed.',
  },
  {
    id: 'Xenova/flan-t5-base',
    task: 'instruction-tuned text-to-text',
    roles: ['summaries'],
    sizeMb: { q8: 250, fp32: 990 },
    license: 'Apache-2.0',
    detail: 'Larger FLAN-T5: better summaries, about 3× slower than small.',
  },
];

/** The catalog entries for a role, the role's own first. */
export function catalogFor(role: ModelRole): CatalogModel[] {
  return MODEL_CATALOG.filter((m) => m.roles.includes(role)).sort((a, b) => Number(b.roles[0] === role) - Number(a.roles[0] === role));
}
