/**
 * A Cloud SDK Firestore emulator of a spec's own, on a free loopback port, for specs that break
 * the store on purpose: freeze it (SIGSTOP: connections stay open and nothing answers), resume
 * it, kill it (connection refused), start it again on the same port. Any FIRESTORE_EMULATOR_HOST
 * the suite runs with is left alone. It keeps its data in memory, so a restart starts empty.
 *
 * The emulator is a bash wrapper around a Java process; both run in a process group of their
 * own, which every signal goes to.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CLOUD_SDK_FIRESTORE } from '../../scripts/emulators.ts';
import { freePort, isListening } from '../../scripts/loopback.ts';
import { waitFor } from '../../scripts/wait.ts';

export const EMULATOR_PATH = CLOUD_SDK_FIRESTORE;

const READY = /API endpoint: http:\/\/[^\s]+/;
const START_TIMEOUT_MS = 60_000;

/** Why this machine cannot run the emulator, or undefined when it can. */
export function emulatorUnavailable(): string | undefined {
  if (!existsSync(EMULATOR_PATH)) return `no Cloud SDK Firestore emulator at ${EMULATOR_PATH}`;
  const java = spawnSync(process.env.JAVA ?? 'java', ['-version'], { stdio: 'ignore' });
  if (java.error || java.status !== 0) return 'no Java to run the Cloud SDK Firestore emulator';
  return undefined;
}

export class FirestoreEmulator {
  /** `127.0.0.1:<port>`, what a client's emulator host is set to. */
  readonly host: string;
  readonly port: number;
  #process: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #output = '';

  private constructor(port: number) {
    this.port = port;
    this.host = `127.0.0.1:${port}`;
  }

  static async start(): Promise<FirestoreEmulator> {
    // Google's client libraries must never look for a metadata server from a spec.
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    const emulator = new FirestoreEmulator(await freePort());
    await emulator.#launch();
    return emulator;
  }

  /** SIGSTOP: the port still accepts connections, and nothing on them is answered. */
  freeze(): void {
    this.#signal('SIGSTOP');
  }

  resume(): void {
    this.#signal('SIGCONT');
  }

  /** SIGKILL, then wait until it is gone: connections are refused from then on. */
  async kill(): Promise<void> {
    if (!this.#process) return;
    this.#signal('SIGCONT');
    this.#signal('SIGKILL');
    await this.#exited;
    this.#process = undefined;
    // The wrapper's exit can come a moment before the Java process has let go of the port.
    await waitFor(async () => !(await isListening(this.port)), { timeoutMs: 5000, what: `port ${this.port} to be let go after the emulator was killed` });
  }

  /** After `kill`: the emulator again, on the same port, with no data. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#launch();
  }

  stop(): Promise<void> {
    return this.kill();
  }

  /** Whether it was started and has not been killed (frozen counts as running). */
  get running(): boolean {
    return this.#process !== undefined && this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Resumed if frozen, started again if killed: as a spec found it. */
  async ensureRunning(): Promise<void> {
    this.resume();
    if (!this.running) await this.restart();
  }

  /** What the emulator printed lately, for failure messages. */
  get output(): string {
    return this.#output;
  }

  async #launch(): Promise<void> {
    const child = spawn(EMULATOR_PATH, ['start', '--host=127.0.0.1', `--port=${this.port}`], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#process = child;
    this.#output = '';
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // Whatever happens to the spec, the emulator does not outlive this process.
    const reap = () => this.#signal('SIGKILL');
    process.once('exit', reap);
    void this.#exited.then(() => process.off('exit', reap));

    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`the Firestore emulator did not start within ${START_TIMEOUT_MS} ms:\n${this.#output}`)), START_TIMEOUT_MS);
      const onExit = () => fail(new Error(`the Firestore emulator exited while starting:\n${this.#output}`));
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        reject(error);
      };
      // Both streams are read for as long as it runs: a full pipe would stop the emulator.
      const collect = (chunk: Buffer) => {
        this.#output = (this.#output + chunk.toString('utf8')).slice(-20_000);
        if (READY.test(this.#output)) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve();
        }
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('exit', onExit);
    });
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#process?.pid;
    if (pid === undefined || !this.running) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}
