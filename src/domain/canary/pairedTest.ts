import erfc from '@stdlib/math-base-special-erfc';

/**
 * Wilcoxon signed-rank test of paired costs (beyond the original: V1 and V2 priced the same inputs, so the
 * pairs say more than the two distributions KL compares). Zero differences are dropped (Wilcoxon's
 * method); |d| ranked with average ranks for ties. Two-sided p-value:
 * - exact (the null distribution of W+ by counting subsets of ranks) when 1 ≤ n ≤ 50 and no |d| ties;
 * - otherwise the normal approximation with the tie correction Σ(t³ − t)/48 of the variance and a
 *   continuity correction of ½ towards the mean.
 * Effect size: the matched-pairs rank-biserial correlation (W+ − W−)/(W+ + W−), in [−1, 1]; positive
 * when V2 tends to cost more. The statistic is min(W+, W−), as scipy.stats.wilcoxon reports it.
 */
export interface PairedTestResult {
  readonly test: 'wilcoxon_signed_rank';
  /** pairs with a non-zero difference */
  readonly n: number;
  /** pairs whose costs were equal (dropped) */
  readonly zero_differences: number;
  readonly w_plus: number;
  readonly w_minus: number;
  /** min(W+, W−) */
  readonly statistic: number;
  readonly p_value: number;
  readonly method: 'exact' | 'normal_approximation' | 'none';
  /** matched-pairs rank-biserial correlation */
  readonly effect_size: number;
}

/** Largest n for the exact distribution: 2^50 subsets still count exactly in a double. */
export const EXACT_MAX_N = 50;

/** Average ranks (1-based) of `values`, ascending; also Σ(t³ − t) over tie groups and whether any tie. */
function averageRanks(values: readonly number[]): { ranks: number[]; tieTerm: number } {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j + 2) / 2; // mean of the 1-based ranks i+1 .. j+1
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  return { ranks, tieTerm };
}

/** P(W+ ≤ t) under H0 for n pairs without ties: subsets of {1..n} with sum ≤ t, over 2^n. */
export function exactSignedRankCdf(n: number, t: number): number {
  const max = (n * (n + 1)) / 2;
  const counts = new Float64Array(max + 1);
  counts[0] = 1;
  for (let k = 1; k <= n; k++) {
    for (let s = (k * (k + 1)) / 2; s >= k; s--) counts[s]! += counts[s - k]!;
  }
  let below = 0;
  for (let s = 0; s <= Math.min(Math.floor(t), max); s++) below += counts[s]!;
  return below / 2 ** n;
}

/** Two-sided p of the standard normal: 2·Φ(−|z|) = erfc(|z|/√2). */
const twoSidedNormal = (z: number): number => erfc(Math.abs(z) / Math.SQRT2);

/** `differences[i]` = V2 cost − V1 cost of pair i. */
export function wilcoxonSignedRank(differences: readonly number[]): PairedTestResult {
  const nonZero = differences.filter((d) => d !== 0);
  const n = nonZero.length;
  const zeros = differences.length - n;
  if (n === 0) {
    return {
      test: 'wilcoxon_signed_rank',
      n: 0,
      zero_differences: zeros,
      w_plus: 0,
      w_minus: 0,
      statistic: 0,
      p_value: 1,
      method: 'none',
      effect_size: 0,
    };
  }
  const { ranks, tieTerm } = averageRanks(nonZero.map(Math.abs));
  let wPlus = 0;
  let wMinus = 0;
  nonZero.forEach((d, i) => {
    if (d > 0) wPlus += ranks[i]!;
    else wMinus += ranks[i]!;
  });
  const statistic = Math.min(wPlus, wMinus);
  let pValue: number;
  let method: PairedTestResult['method'];
  if (n <= EXACT_MAX_N && tieTerm === 0) {
    method = 'exact';
    pValue = Math.min(1, 2 * exactSignedRankCdf(n, statistic));
  } else {
    method = 'normal_approximation';
    const mean = (n * (n + 1)) / 4;
    const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48;
    const correction = 0.5 * Math.sign(statistic - mean);
    pValue = Math.min(1, twoSidedNormal((statistic - mean - correction) / Math.sqrt(variance)));
  }
  return {
    test: 'wilcoxon_signed_rank',
    n,
    zero_differences: zeros,
    w_plus: wPlus,
    w_minus: wMinus,
    statistic,
    p_value: pValue,
    method,
    effect_size: (wPlus - wMinus) / (wPlus + wMinus),
  };
}
