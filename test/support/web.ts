/** The web app, built once per test run (as `npm start` builds it) for the tests that serve it. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { emulatorStack } from './emulator-stack.ts';

let built = false;

export function buildWebApp(): void {
  // The emulator stack built it before the Hosting emulator began serving it.
  if (built || emulatorStack()) return;
  execFileSync(process.execPath, [fileURLToPath(new URL('../../web/build.ts', import.meta.url))], { stdio: 'inherit' });
  built = true;
}
