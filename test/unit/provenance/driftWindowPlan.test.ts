import { DAY_MS, HOUR_MS, planWindow } from '../../../src/projections/provenance/driftWindowPlan';

const day = Date.UTC(2026, 10, 5);
const now = new Date(day + 30 * DAY_MS);
const facts = { now, headHasRows: false, tailHasRows: false, cutoff: null, pendingHours: [] };
const asDay = (first: number, last: number) => ({
  from: new Date(day + first * DAY_MS),
  to: new Date(day + last * DAY_MS + DAY_MS - 1), // end_date=YYYY-MM-DD: 23:59:59.999
});

test('a window of whole days comes from day rows alone when nothing lies in its last millisecond', () => {
  const plan = planWindow({ ...facts, ...asDay(0, 2) })!;
  expect(plan).toMatchObject({ a: day, b: day + 3 * DAY_MS, d1: day, d2: day + 3 * DAY_MS, raw: [] });
});

test('an edge hour with records in the part left out is read raw', () => {
  const plan = planWindow({ ...facts, ...asDay(0, 2), tailHasRows: true })!;
  expect(plan.b).toBe(day + 3 * DAY_MS - HOUR_MS);
  expect(plan.d2).toBe(day + 2 * DAY_MS);
  expect(plan.raw).toEqual([[day + 3 * DAY_MS - HOUR_MS, Infinity]]);
  const off = planWindow({
    ...facts,
    from: new Date(day + 90_000),
    to: new Date(day + DAY_MS),
    headHasRows: true,
  })!;
  expect(off.a).toBe(day + HOUR_MS);
  expect(off.b).toBe(day + DAY_MS + HOUR_MS); // the window ends at midnight: that hour holds no more of it
  expect(off.raw).toEqual([[-Infinity, day + HOUR_MS]]);
});

test('the current and the previous hour, the cut-off hour and hours not yet rolled up are read raw', () => {
  const open = planWindow({ ...facts })!;
  expect(open.b).toBe(now.getTime() - HOUR_MS);
  expect(open.raw).toEqual([[now.getTime() - HOUR_MS, Infinity]]);
  const cutoff = new Date(day + 5 * DAY_MS + 30 * 60_000);
  const cut = planWindow({ ...facts, cutoff })!;
  expect(cut.a).toBe(day + 5 * DAY_MS + HOUR_MS);
  expect(cut.raw[0]).toEqual([-Infinity, day + 5 * DAY_MS + HOUR_MS]);
  const h = day + DAY_MS + 7 * HOUR_MS;
  const pending = planWindow({ ...facts, ...asDay(0, 2), pendingHours: [h, h + HOUR_MS, h] })!;
  expect(pending.excludedHours).toEqual([h, h + HOUR_MS]);
  expect(pending.excludedDays).toEqual([day + DAY_MS]);
  expect(pending.raw).toEqual([[h, h + 2 * HOUR_MS]]);
});

test('a window with no whole hour, or only recent ones, is left to the exact query', () => {
  expect(
    planWindow({
      ...facts,
      from: new Date(day + 60_000),
      to: new Date(day + 50 * 60_000),
      headHasRows: true,
      tailHasRows: true,
    }),
  ).toBeNull();
  expect(planWindow({ ...facts, from: new Date(now.getTime() - HOUR_MS), to: now })).toBeNull();
});
