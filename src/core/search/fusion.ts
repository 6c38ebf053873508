export interface Fused {
  readonly id: number;
  readonly score: number;
  /** 1-based rank in each input ranking (0: lexical, 1: vector), undefined where absent. */
  readonly ranks: readonly (number | undefined)[];
}

/** Share of the words (BM25) in hybrid scores; chosen on the search-quality eval (out/bench/searchQuality.js). */
export const DEFAULT_LEXICAL_WEIGHT = 0.7;

/** A retriever's candidates, best first, with their scores. */
export interface ScoredIds {
  readonly id: number;
  readonly score: number;
}

/**
 * Normalised score combination: score(id) = w · bm25(id) / max bm25 + (1 − w) · (cos(id) − min cos) / (max cos − min cos),
 * extremes taken over each retriever's candidates. Unlike rank fusion it keeps how far apart the scores are, so a
 * confident lexical match is not dragged down by a weak vector ranking. A lexical candidate absent from the vector
 * list gets its exact similarity from `similarity` (cheap: one dot product); a vector candidate absent from the
 * lexical list scores 0 on words (it holds none of the query terms, or fewer than the lexical candidates).
 */
export function weightedScoreFusion(lexical: readonly ScoredIds[], vector: readonly ScoredIds[], lexicalWeight: number, similarity: (id: number) => number): Fused[] {
  const maxLexical = lexical.reduce((m, s) => Math.max(m, s.score), 0);
  const cosines = vector.map((s) => s.score);
  const low = cosines.length > 0 ? Math.min(...cosines) : 0;
  const high = cosines.length > 0 ? Math.max(...cosines) : 1;
  const spread = high - low > 1e-9 ? high - low : 1;
  const lexicalRanks = new Map(lexical.map((s, i) => [s.id, { rank: i + 1, score: s.score }]));
  const vectorRanks = new Map(vector.map((s, i) => [s.id, { rank: i + 1, score: s.score }]));
  const out: (Fused & { best: number })[] = [];
  for (const id of new Set([...lexicalRanks.keys(), ...vectorRanks.keys()])) {
    const lex = lexicalRanks.get(id);
    const vec = vectorRanks.get(id);
    const cos = vec?.score ?? similarity(id);
    const words = lex && maxLexical > 0 ? lex.score / maxLexical : 0;
    const meaning = Math.min(1, Math.max(0, (cos - low) / spread));
    const score = lexicalWeight * words + (1 - lexicalWeight) * meaning;
    out.push({ id, score, ranks: [lex?.rank, vec?.rank], best: Math.min(lex?.rank ?? Infinity, vec?.rank ?? Infinity) });
  }
  return out.sort((a, b) => b.score - a.score || a.best - b.best || a.id - b.id).map(({ id, score, ranks }) => ({ id, score, ranks }));
}
