// Shared inputs and references of the summary tests (unit, extension host, browser).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixtureModel, repoRoot } from './paths';

/** One text of a seq2seq fixture's reference.json (see test/fixtures/models/README.md). */
export interface Seq2SeqItem {
  readonly text: string;
  readonly input_ids: number[];
  readonly greedy: { readonly sequence: number[]; readonly text: string; readonly stopped_by: string };
  /** `[layer][head][target][source]`, teacher-forced on `greedy.sequence[:-1]`. */
  readonly cross_attentions: number[][][][];
}

export interface Seq2SeqReference {
  readonly generation: { readonly max_new_tokens: number };
  readonly items: Seq2SeqItem[];
}

export function seq2seqReference(model: 'tiny-t5' | 'tiny-bart'): Seq2SeqReference {
  return JSON.parse(fs.readFileSync(path.join(fixtureModel(model), 'reference.json'), 'utf8')) as Seq2SeqReference;
}

/** `cross_attentions[layer]` averaged over heads: `[target][source]`. */
export function meanOverHeads(item: Seq2SeqItem, layer: number): number[][] {
  const heads = item.cross_attentions[layer]!;
  return heads[0]!.map((row, t) => row.map((_, s) => heads.reduce((sum, head) => sum + head[t]![s]!, 0) / heads.length));
}

/** Three topics, four sentences each, one paragraph per topic pair, interleaved. */
export const TOPICS: Readonly<Record<string, readonly string[]>> = {
  gardening: [
    'Water the tomato plants early in the morning so the soil stays moist all day.',
    'Compost from kitchen scraps feeds the vegetable garden through the summer.',
    'Prune the rose bushes in late winter before the new buds appear.',
    'Slugs eat young lettuce leaves, so protect the seedlings in the garden beds.',
  ],
  spaceflight: [
    'The rocket launched the crew capsule into orbit around the Earth.',
    'Astronauts on the space station run experiments in microgravity.',
    'The lunar lander touched down gently on the surface of the Moon.',
    'Engineers tested the spacecraft heat shield before the return to Earth.',
  ],
  banking: [
    'The bank raised its interest rate on savings accounts this quarter.',
    'Customers can transfer money between accounts with the mobile banking app.',
    'A mortgage loan is repaid in monthly instalments over many years.',
    'The central bank kept interest rates unchanged to fight inflation.',
  ],
};

/** A document built from topics of four sentences (two per paragraph, topics interleaved), and which topic an offset is in. */
export function threeTopicDocument(topics: Readonly<Record<string, readonly string[]>> = TOPICS): { text: string; topicOf: (offset: number) => string } {
  const ranges: { start: number; end: number; topic: string }[] = [];
  let text = '';
  for (let i = 0; i < 4; i += 2) {
    for (const [topic, sentences] of Object.entries(topics)) {
      const start = text.length;
      text += `${sentences[i]} ${sentences[i + 1]}\n\n`;
      ranges.push({ start, end: text.length, topic });
    }
  }
  return { text, topicOf: (offset) => ranges.find((r) => offset >= r.start && offset < r.end)?.topic ?? 'none' };
}

/**
 * A TypeScript file for hovers: the demo workspace's documented `uploadWithRetry` (11 lines) and a 3-line function
 * under `bertLens.hover.minLines`.
 */
export const HOVER_SOURCE = `${fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'demo-workspace', 'src', 'upload.ts'), 'utf8').trimEnd()}

export function shortHelper(): number {
  return 1;
}
`;
