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

/**
 * W+ and W− of the non-zero differences, with average ranks of |d| for ties, and Σ(t³ − t) over the tie
 * groups. The positive and the negative |d| are sorted apart (typed arrays sort numerically, without a
 * comparator call per step) and walked together as one ranking: a tie group of t values at 1-based ranks
 * r+1 .. r+t has rank r + (t + 1)/2 for each. Every rank is a multiple of ½ and every sum an integer or
 * half-integer far below 2^53, so the sums are exact, whatever the order of addition.
 */
function signedRankSums(differences: readonly number[]): {
  n: number;
  wPlus: number;
  wMinus: number;
  tieTerm: number;
} {
  let positives = 0;
  let negatives = 0;
  for (const d of differences) {
    if (d > 0) positives++;
    else if (d < 0) negatives++;
  }
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  let p = 0;
  let q = 0;
  for (const d of differences) {
    if (d > 0) pos[p++] = d;
    else if (d < 0) neg[q++] = -d;
  }
  pos.sort();
  neg.sort();
  let wPlus = 0;
  let wMinus = 0;
  let tieTerm = 0;
  let ranked = 0;
  let i = 0;
  let j = 0;
  while (i < positives || j < negatives) {
    const v = j >= negatives || (i < positives && pos[i]! <= neg[j]!) ? pos[i]! : neg[j]!;
    let cp = 0;
    let cn = 0;
    while (i < positives && pos[i] === v) {
      cp++;
      i++;
    }
    while (j < negatives && neg[j] === v) {
      cn++;
      j++;
    }
    const t = cp + cn;
    const rank = ranked + (t + 1) / 2;
    wPlus += cp * rank;
    wMinus += cn * rank;
    tieTerm += t * t * t - t;
    ranked += t;
  }
  return { n: positives + negatives, wPlus, wMinus, tieTerm };
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
  const { n, wPlus, wMinus, tieTerm } = signedRankSums(differences);
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
