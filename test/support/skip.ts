/**
 * Skipping that says why: the reason is kept on the spec (when a spec skips) or on its suite
 * (when a hook skips the suite), and the test output prints it under the first spec skipped
 * (test/support/summary-reporter.cjs), so a reader sees what is missing (a browser, an
 * emulator) and how to run the leg, instead of a bare list of pending specs.
 */
interface WithReason {
  skipReason?: string;
}

export function skipBecause(context: Mocha.Context, why: string): never {
  const runnable: (Mocha.Runnable & { type?: string }) | undefined = context.test;
  const target = runnable?.type === 'test' ? runnable : (context.currentTest?.parent ?? runnable?.parent);
  if (target) (target as WithReason).skipReason = why;
  return context.skip();
}
