'use strict';
// The spec reporter, plus one closing line in the plain "N passed, N failed, N skipped" form
// that CI reads; pending (skipped) tests are counted apart, never as passed. A skip that said
// why (test/support/skip.ts) is explained once, under the first spec it skipped.
const { reporters, Runner } = require('mocha');

function reasonOf(runnable) {
  for (let at = runnable; at; at = at.parent) if (at.skipReason) return { owner: at, reason: at.skipReason };
  return undefined;
}

class SummaryReporter extends reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const explained = new Set();
    runner.on(Runner.constants.EVENT_TEST_PENDING, (test) => {
      const found = reasonOf(test);
      if (!found || explained.has(found.owner)) return;
      explained.add(found.owner);
      process.stdout.write(`      (skipped: ${found.reason})\n`);
    });
    runner.once(Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      process.stdout.write(`mocha: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SummaryReporter;
