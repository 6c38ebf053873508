/**
 * How each embedding model expects search inputs, and where its similarities stop meaning "related".
 *
 * Some models were trained with a prefix on queries and passages (E5: `query: ` / `passage: `; nomic-embed:
 * `search_query: ` / `search_document: `) or an instruction on queries only (BGE English v1.5); without it they rank
 * worse. Others (MiniLM, GTE, the bundled Universal Sentence Encoder) take text as it is.
 *
 * `weakBelow` is the cosine similarity under which a passage that shares no word with the query is not called a
 * match by meaning. Every model has its own scale: BGE and E5 put unrelated texts at 0.6–0.7, MiniLM near 0.
 * use-lite's floor sits under what the search-quality eval measured for right first answers (out/bench/searchQuality.js
 * prints it: p10 0.49 on the docs, 0.56 on the code; a right paraphrase in the browser test scores 0.45), and above
 * text unrelated to the query (0.1–0.3). The others follow their model cards and are not measured here.
 */
export interface SearchConventions {
  /** Short name of the convention; part of the vector space's key when it adds prefixes. */
  readonly name: string;
  readonly queryPrefix: string;
  readonly passagePrefix: string;
  readonly weakBelow: number;
}

const CONVENTIONS: readonly { readonly match: RegExp; readonly conventions: SearchConventions }[] = [
  { match: /(^|[/_-])(multilingual-)?e5-/i, conventions: { name: 'e5', queryPrefix: 'query: ', passagePrefix: 'passage: ', weakBelow: 0.75 } },
  {
    match: /(^|[/_-])bge-[a-z]+-en/i,
    conventions: { name: 'bge-en', queryPrefix: 'Represent this sentence for searching relevant passages: ', passagePrefix: '', weakBelow: 0.6 },
  },
  { match: /(^|[/_-])nomic-embed-text/i, conventions: { name: 'nomic', queryPrefix: 'search_query: ', passagePrefix: 'search_document: ', weakBelow: 0.45 } },
  { match: /^bundled:use-lite$/, conventions: { name: 'plain', queryPrefix: '', passagePrefix: '', weakBelow: 0.35 } },
];

const PLAIN: SearchConventions = { name: 'plain', queryPrefix: '', passagePrefix: '', weakBelow: 0.3 };

/** The conventions of the model `ref` (a Hub id, a folder whose name says which model it is, or `bundled:…`). */
export function searchConventions(ref: string): SearchConventions {
  const name = ref.replace(/[\\/]+$/, '');
  return CONVENTIONS.find((c) => c.match.test(name))?.conventions ?? PLAIN;
}
