/** Waiting for a condition, by asking it again until it holds or time is up: evidence, not a fixed sleep. */

export interface WaitOptions {
  timeoutMs: number;
  /** What is waited for, for the error (a function when it says more once time is up). */
  what: string | (() => string);
  /** How long between two askings. */
  intervalMs?: number;
}

/** Resolves once `condition` holds; rejects when `timeoutMs` has passed first, or as `condition` rejects. */
export async function waitFor(condition: () => boolean | Promise<boolean>, { timeoutMs, what, intervalMs = 20 }: WaitOptions): Promise<void> {
  for (const deadline = performance.now() + timeoutMs; !(await condition());) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
