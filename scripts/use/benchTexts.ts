/**
 * Deterministic English inputs for the bundled-encoder benchmark: short sentences (8–16 words) and passages of
 * about 70 words made of them, in a fixed pseudo-random order.
 */

const SENTENCES = [
  'The committee postponed its vote on the new budget until next Thursday.',
  'Heavy rain flooded several roads in the northern suburbs this morning.',
  'She fixed the memory leak by closing the file handles after each request.',
  'Our cat refuses to eat anything except the expensive salmon flavoured food.',
  'The museum reopened after a two year renovation of its east wing.',
  'Interest rates are expected to stay unchanged for the rest of the year.',
  'He practised the violin for three hours every evening before the audition.',
  'The new compiler release cuts build times by almost a third on large projects.',
  'Volunteers planted more than four hundred trees along the river bank.',
  'Most of the passengers slept through the long overnight flight to Singapore.',
  'The recipe calls for two cups of flour, a pinch of salt and cold butter.',
  'Researchers found that the enzyme works best at slightly acidic conditions.',
  'After the merger, the two companies kept their separate brand names.',
  'The goalkeeper saved a penalty in the final minute of extra time.',
  'Please restart the server after you change the configuration file.',
  'Tourists crowded the old town square to watch the fireworks at midnight.',
  'The library will extend its opening hours during the exam period.',
  'A small bug in the date parser caused reports to show the wrong month.',
  'Farmers are worried that the dry spring will reduce this year’s harvest.',
  'The orchestra closed the concert with a lively piece by a young composer.',
  'Children learn new languages faster when they hear them spoken every day.',
  'The hotel offers free breakfast and a shuttle bus to the airport.',
  'Engineers inspected the bridge after a truck struck one of its supports.',
  'He always forgets his umbrella on the days it actually rains.',
  'The startup raised enough money to hire ten more developers next quarter.',
  'Doctors recommend at least seven hours of sleep for most adults.',
  'The documentation explains how to migrate old projects to the new format.',
  'Snow closed the mountain pass, so the trucks had to take the coastal road.',
  'Our team rewrote the search index so that queries return in milliseconds.',
  'The painter mixed ochre and blue to get the exact colour of the evening sky.',
  'Prices at the farmers market rose sharply after the summer drought.',
  'The tutorial walks beginners through writing their first unit test.',
];

function* shuffled(seed: number): Generator<string> {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  for (;;) {
    const order = SENTENCES.map((s) => ({ s, k: next() })).sort((a, b) => a.k - b.k);
    for (const { s } of order) yield s;
  }
}

/** `count` sentences of 8–16 words. */
export function shortSentences(count: number, seed = 1): string[] {
  const source = shuffled(seed);
  return Array.from({ length: count }, () => source.next().value as string);
}

/** `count` passages of `words` words (sentences joined, the last one cut at the word limit). */
export function passages(count: number, words = 70, seed = 2): string[] {
  const source = shuffled(seed);
  return Array.from({ length: count }, () => {
    const out: string[] = [];
    while (out.length < words) out.push(...(source.next().value as string).split(' '));
    return out.slice(0, words).join(' ');
  });
}
