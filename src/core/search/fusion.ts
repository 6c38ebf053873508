/** One retriever's ranking: ids best first. */
export type Ranking = readonly number[];

export interface Fused {
  readonly id: number;
  /** Σ over rankings of 1 / (k + rank), rank 1-based. */
  readonly score: number;
  /** 1-based rank in each input ranking (index = ranking number), undefined where absent. */
  readonly ranks: readonly (number | undefined)[];
}

/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009): score(id) = Σ_i 1 / (k + rank_i(id)). Needs no score
 * calibration between BM25 and cosine similarity. Ties keep the order of the best single rank, then the id.
 */
export function reciprocalRankFusion(rankings: readonly Ranking[], k = 60): Fused[] {
  const byId = new Map<number, { score: number; ranks: (number | undefined)[]; best: number }>();
  rankings.forEach((ranking, list) => {
    ranking.forEach((id, i) => {
      const rank = i + 1;
      let e = byId.get(id);
      if (!e) {
        e = { score: 0, ranks: new Array<number | undefined>(rankings.length).fill(undefined), best: Infinity };
        byId.set(id, e);
      }
      if (e.ranks[list] !== undefined) return; // an id counts once per ranking
      e.ranks[list] = rank;
      e.score += 1 / (k + rank);
      e.best = Math.min(e.best, rank);
    });
  });
  return [...byId]
    .sort(([ia, a], [ib, b]) => b.score - a.score || a.best - b.best || ia - ib)
    .map(([id, e]) => ({ id, score: e.score, ranks: e.ranks }));
}
