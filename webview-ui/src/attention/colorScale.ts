/**
 * The heatmap's colour scale: viridis (perceptually uniform, readable in colour-blind vision and in grey) over the
 * square root of the weight, so the many small weights of a long input stay apart while 1 is still the brightest.
 */

/** Viridis at nine even stops, from matplotlib's table. */
const VIRIDIS_STOPS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 45, 123],
  [59, 82, 139],
  [44, 114, 142],
  [33, 145, 140],
  [40, 174, 128],
  [94, 201, 98],
  [173, 220, 48],
  [253, 231, 37],
];

/** 256 RGB entries, index = round(position × 255). */
const TABLE: Uint8Array = (() => {
  const out = new Uint8Array(256 * 3);
  const last = VIRIDIS_STOPS.length - 1;
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * last;
    const lo = Math.min(last - 1, Math.floor(x));
    const f = x - lo;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(VIRIDIS_STOPS[lo]![c]! * (1 - f) + VIRIDIS_STOPS[lo + 1]![c]! * f);
  }
  return out;
})();

/** Position of weight `w` (0–1) on the scale. */
export function scalePosition(w: number): number {
  return Math.sqrt(Math.min(1, Math.max(0, w)));
}

/** Writes the colour of weight `w` into `data` at `offset` (RGBA, alpha 255). */
export function writeWeightColor(data: Uint8ClampedArray, offset: number, w: number): void {
  const i = Math.round(scalePosition(w) * 255) * 3;
  data[offset] = TABLE[i]!;
  data[offset + 1] = TABLE[i + 1]!;
  data[offset + 2] = TABLE[i + 2]!;
  data[offset + 3] = 255;
}

/** Weights labelled on the legend: even steps of the square-root scale. */
export const LEGEND_TICKS: readonly number[] = [0, 0.05, 0.25, 0.5, 1];
