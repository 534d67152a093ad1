/**
 * Background passes for the local server (the upload reconciler, the mail retries): one now,
 * then one every interval, never two at once. A pass must not reject (it logs its own
 * failures); the timer does not keep the process alive. Deployed, scheduled functions run
 * the same passes instead.
 */
export interface RunningPasses {
  /** The pass started at once; settles when it is over. */
  firstPass: Promise<void>;
  /** No more passes; resolves once the one in flight, if any, is over. */
  stop(): Promise<void>;
}

export function runPeriodically(pass: () => Promise<void>, intervalMs: number): RunningPasses {
  let inFlight: Promise<void> | undefined;
  const run = (): Promise<void> => (inFlight ??= pass().finally(() => (inFlight = undefined)));
  const firstPass = run();
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return {
    firstPass,
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
