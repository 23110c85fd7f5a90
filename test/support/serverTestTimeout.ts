// Tests that talk to real servers wait with `eventually` (test/support/eventually.ts: 15 s by default, as
// event-store readers wait for every older transaction in the cluster); Jest's default of 5 s per test cut
// those waits short on a loaded machine (typeFilter, laneWakeups: "Exceeded timeout of 5000 ms" while the
// event was on its way). A test that hangs still fails, at 30 s. (Jest takes testTimeout from the global
// configuration only, so the integration and e2e projects set it here.)
jest.setTimeout(30_000);
