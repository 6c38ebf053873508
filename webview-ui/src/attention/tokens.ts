import type { TokenSpan } from '../../../src/protocol/attention';
import { rgbOf, themeColor } from '../shared/host';

export interface TokenFilter {
  /** Hide [CLS]/[SEP]-style special tokens. */
  readonly hideSpecial: boolean;
  /** Hide tokens that are only punctuation. */
  readonly hidePunctuation: boolean;
}

const PUNCTUATION = /^[\p{P}\p{S}]+$/u;

/** Indices of the tokens that stay visible under `filter`. */
export function visibleTokens(tokens: readonly TokenSpan[], filter: TokenFilter): number[] {
  const out: number[] = [];
  tokens.forEach((t, i) => {
    if (filter.hideSpecial && t.special) return;
    if (filter.hidePunctuation && !t.special && PUNCTUATION.test(t.text.replace(/^##|^\u2581/u, ''))) return;
    out.push(i);
  });
  return out;
}

const CHART_COLORS = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-red', '--vscode-charts-purple', '--vscode-charts-yellow'];
const FALLBACKS = ['#3794ff', '#d18616', '#89d185', '#f14c4c', '#b180d7', '#cca700'];

/** One colour per head: the theme's chart colours first, then evenly spaced hues. */
export function headColors(heads: number): [number, number, number][] {
  return Array.from({ length: heads }, (_, h) => {
    if (h < CHART_COLORS.length) return rgbOf(themeColor(CHART_COLORS[h]!, FALLBACKS[h]!));
    const hue = Math.round((h * 360) / heads + 15) % 360;
    return rgbOf(`hsl(${hue}, 65%, 55%)`);
  });
}

export function rgba([r, g, b]: readonly [number, number, number], alpha: number): string {
  return `rgba(${r}, ${g}, ${b}, ${Math.max(0, Math.min(1, alpha)).toFixed(3)})`;
}
