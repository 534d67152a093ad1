/**
 * What the browser specs run against: the local server (startApi, under `npm test`), or the
 * Firebase emulator stack (under `npm run test:emulators`: the web app and the API through the
 * Hosting emulator, the data in the Firestore and Storage emulators the functions use). Either
 * way a spec gets the same handle: where to point the browser, the store and blob store to
 * check what was written, the server's log lines, and what differs by platform.
 */
import { send, startApi, type RequestOptions, type Response } from './api.ts';
import { emulatorFunctionLogs, emulatorStack, OUTBOX } from './emulator-stack.ts';
import type { EmulatorStack } from '../../scripts/emulators.ts';
import type { BlobStore } from '../../functions/src/blobs/port.ts';
import type { DocumentStore } from '../../functions/src/store/port.ts';

export interface Target {
  url: string;
  store: DocumentStore;
  blobs: BlobStore;
  /** Log lines written by the server since the target started. */
  readonly logs: Record<string, any>[];
  /** Where the server's mail lands (the outbox driver's folder). */
  outbox: string;
  /** The session cookie's name there (`__session` behind Hosting). */
  sessionCookieName: string;
  /** The client address the server records for this machine's requests. */
  clientIp: string;
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  close(): Promise<void>;
}

/** Under `npm run test:emulators`. */
export const onEmulators = (): boolean => emulatorStack() !== undefined;

/** Empties the stack's Firestore database and bucket; answers clients of both. */
export async function clearEmulatorData(stack: EmulatorStack): Promise<{ store: DocumentStore; blobs: BlobStore }> {
  const firestore = stack.clientEnv.FIRESTORE_EMULATOR_HOST!;
  const cleared = await fetch(`http://${firestore}/emulator/v1/projects/${stack.projectId}/databases/(default)/documents`, { method: 'DELETE' });
  if (!cleared.ok) throw new Error(`could not empty the Firestore emulator: ${cleared.status}`);
  const [{ openFirestoreStore }, { openCloudStorageBlobStore }] = await Promise.all([
    import('../../functions/src/store/firestore.ts'),
    import('../../functions/src/blobs/cloud-storage.ts'),
  ]);
  const store = await openFirestoreStore({ projectId: stack.projectId });
  const blobs = await openCloudStorageBlobStore({ bucket: `${stack.projectId}.appspot.com`, projectId: stack.projectId });
  for (const key of await blobs.list('')) await blobs.delete(key);
  return { store, blobs };
}

/**
 * The local server with `env`, or the emulator stack as it runs (its configuration is fixed;
 * specs that need their own skip there). On the stack, Firestore and Storage are emptied
 * first, so a spec starts from nothing as it does on the local server.
 */
export async function startTarget(env: Record<string, string> = {}): Promise<Target> {
  const stack = emulatorStack();
  if (!stack) {
    const api = await startApi(env);
    return Object.assign(api, { sessionCookieName: api.runtime.config.auth.sessionCookieName, clientIp: '127.0.0.1' });
  }
  if (Object.keys(env).length > 0) throw new Error('the emulator stack runs with its own configuration');
  const { store, blobs } = await clearEmulatorData(stack);
  const logs = emulatorFunctionLogs();
  const from = logs.length;
  return {
    url: stack.hostingUrl,
    store,
    blobs,
    get logs() {
      return logs.slice(from);
    },
    outbox: OUTBOX,
    sessionCookieName: '__session',
    // The Functions emulator hands each request to the function over a local socket, with no
    // X-Forwarded-For: every caller is the one unknown peer.
    clientIp: 'unknown',
    request: (method, path, options) => send(stack.hostingUrl, method, path, options),
    async close() {
      await Promise.all([store.close(), blobs.close()]);
    },
  };
}
