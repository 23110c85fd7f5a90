import fc from 'fast-check';
import { exactSignedRankCdf, wilcoxonSignedRank } from '../../../src/domain/canary/pairedTest';

/**
 * The paired test against values computed independently: scipy 1.17.1
 * `scipy.stats.wilcoxon(d, zero_method='wilcox', correction=True, method=<exact|approx>)` (statistic and
 * two-sided p-value), and the published exact table of the signed-rank distribution.
 */
const cases: Record<string, { d: number[]; method: string; n: number; statistic: number; p: number }> = {
  small_exact: {
    d: [3, -1, 4, 1.5, -5, 9, 2.5, 6, -0.5, 7.25],
    method: 'exact',
    n: 10,
    statistic: 10.0,
    p: 0.083984375,
  },
  n5_all_positive: { d: [1, 2, 3, 4, 5], method: 'exact', n: 5, statistic: 0, p: 0.0625 },
  n1: { d: [2], method: 'exact', n: 1, statistic: 0, p: 1.0 },
  ties_small: {
    d: [1, 1, -1, 2, 2, 3, -3, 4],
    method: 'normal_approximation',
    n: 8,
    statistic: 8.5,
    p: 0.2042192702898492,
  },
  exact20: {
    d: Array.from({ length: 20 }, (_, i) => (i + 1) * ((i * 5) % 3 ? 1 : -1)),
    method: 'exact',
    n: 20,
    statistic: 70,
    p: 0.20244979858398438,
  },
  exact50: {
    d: Array.from({ length: 50 }, (_, i) => (i + 1) * 0.5 * ((i * 7) % 4 ? 1 : -1)),
    method: 'exact',
    n: 50,
    statistic: 325,
    p: 0.0021224348550905603,
  },
  // 400 pairs, 37 zero differences dropped, heavy ties: the tie-corrected normal approximation
  large_ties: {
    d: Array.from({ length: 400 }, (_, i) => ((i * 37) % 11) - 4),
    method: 'normal_approximation',
    n: 363,
    statistic: 21333.5,
    p: 4.287631694857327e-9,
  },
  large_no_ties: {
    d: Array.from({ length: 120 }, (_, i) => (i + 1) * 0.01 * ((i * 7) % 3 === 0 ? -1 : 1)),
    method: 'normal_approximation',
    n: 120,
    statistic: 2380,
    p: 0.001066850188328697,
  },
};

describe('Wilcoxon signed-rank (against scipy 1.17.1, to 1e-9)', () => {
  test.each(Object.entries(cases))('%s', (_, c) => {
    const r = wilcoxonSignedRank(c.d);
    expect(r.method).toBe(c.method);
    expect(r.n).toBe(c.n);
    expect(Math.abs(r.statistic - c.statistic)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(r.p_value - c.p)).toBeLessThanOrEqual(1e-9);
    // and relatively, for the tiny p-value
    expect(Math.abs(r.p_value - c.p) / c.p).toBeLessThanOrEqual(1e-9);
    expect(r.w_plus + r.w_minus).toBe((c.n * (c.n + 1)) / 2);
  });

  test('exact null distribution: the published table (n = 10: P(W ≤ 8) = 25/1024, P(W ≤ 10) = 43/1024)', () => {
    // counts of subsets of {1..10} with sum ≤ t: 1,2,3,5,7,10,14,19,25,33,43 for t = 0..10
    const cumulative = [1, 2, 3, 5, 7, 10, 14, 19, 25, 33, 43];
    cumulative.forEach((c, t) => expect(exactSignedRankCdf(10, t)).toBe(c / 1024));
    expect(exactSignedRankCdf(10, 55)).toBe(1);
  });

  test('effect size: the matched-pairs rank-biserial correlation', () => {
    // small_exact: the negatives −1, −5, −0.5 have ranks 2, 7, 1: W− = 10, W+ = 55 − 10 = 45
    const r = wilcoxonSignedRank(cases.small_exact!.d);
    expect(r.w_minus).toBe(10);
    expect(r.w_plus).toBe(45);
    expect(r.effect_size).toBeCloseTo((45 - 10) / 55, 12);
    expect(wilcoxonSignedRank([1, 2, 3]).effect_size).toBe(1);
    expect(wilcoxonSignedRank([-1, -2, -3]).effect_size).toBe(-1);
  });

  test('no non-zero difference: n 0, p 1 (inconclusive), zeros counted', () => {
    expect(wilcoxonSignedRank([0, 0, 0])).toMatchObject({
      n: 0,
      zero_differences: 3,
      p_value: 1,
      method: 'none',
    });
  });

  test('rank sums agree exactly with ranking every |d| by index (ties averaged), signs mixed', () => {
    // the textbook procedure, written out: sort the indices by |d|, give each tie group its mean rank
    const reference = (differences: number[]) => {
      const d = differences.filter((x) => x !== 0);
      const abs = d.map(Math.abs);
      const order = abs.map((_, i) => i).sort((a, b) => abs[a]! - abs[b]!);
      const ranks = new Array<number>(d.length);
      let tieTerm = 0;
      for (let i = 0; i < order.length;) {
        let j = i;
        while (j + 1 < order.length && abs[order[j + 1]!] === abs[order[i]!]) j++;
        for (let k = i; k <= j; k++) ranks[order[k]!] = (i + j + 2) / 2;
        tieTerm += (j - i + 1) ** 3 - (j - i + 1);
        i = j + 1;
      }
      let wPlus = 0;
      let wMinus = 0;
      d.forEach((x, i) => (x > 0 ? (wPlus += ranks[i]!) : (wMinus += ranks[i]!)));
      return { n: d.length, wPlus, wMinus, tieTerm };
    };
    const cents = fc.integer({ min: -40, max: 40 }).map((c) => c / 4); // few distinct values: many ties
    fc.assert(
      fc.property(
        fc.array(fc.oneof(cents, fc.double({ min: -1e6, max: 1e6, noNaN: true })), { maxLength: 300 }),
        (d) => {
          const r = wilcoxonSignedRank(d);
          const ref = reference(d);
          expect([r.n, r.w_plus, r.w_minus]).toEqual([ref.n, ref.wPlus, ref.wMinus]);
          if (ref.n > 0) {
            const method = ref.n <= 50 && ref.tieTerm === 0 ? 'exact' : 'normal_approximation';
            expect(r.method).toBe(method);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
