// Lists every skipped test by name (each says why: see test/support/alertmanagerAvailability.ts), then
// prints one plain closing line, "tests: N passed, N failed, N skipped", that CI tooling reads.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.testResults.flatMap((file) =>
      file.testResults
        .filter((t) => t.status === 'pending' || t.status === 'skipped' || t.status === 'todo')
        .map((t) => t.fullName),
    );
    if (skipped.length > 0) {
      process.stdout.write(`\nskipped (${skipped.length}):\n${skipped.map((n) => `  - ${n}`).join('\n')}\n`);
    }
    const line = `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${
      results.numPendingTests + results.numTodoTests
    } skipped`;
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
