/**
 * Reconciling uploads' blobs with their documents (uploads/reconcile.ts). Debris is made as
 * dying processes make it: the real local server killed (SIGKILL) the moment it starts writing
 * uploads; and, placed as a crash leaves it, a blob stored by a process that died before its
 * document (the blob store's own put), `.partial` files and a `.meta` entry whose blob is gone.
 * The reconciler removes exactly what no document names and is older than the grace, by each
 * file's or object's own time; it keeps every blob a document names and everything younger.
 * Then how it runs: at start-up and every interval on the local server (startReconciler), and
 * hourly on Cloud Functions (the scheduled function `reconcile`, called as Cloud Scheduler
 * would, through its `run`).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { issueAccessToken } from '../../functions/src/auth/tokens.ts';
import { DiskBlobStore } from '../../functions/src/blobs/disk.ts';
import type { BlobStore } from '../../functions/src/blobs/port.ts';
import { loadConfig } from '../../functions/src/config/index.ts';
import { SqliteDocumentStore } from '../../functions/src/store/sqlite.ts';
import { DEFAULT_GRACE_MS, reconcileUploads, startReconciler } from '../../functions/src/uploads/reconcile.ts';
import { waitFor } from '../../scripts/wait.ts';
import { HOUR, MINUTE, backdate, filesUnder, pastNewest } from '../blobs/support.ts';
import { send, startApi, type TestApi } from '../support/api.ts';
import { png } from '../support/images.ts';
import { fileForm } from '../support/multipart.ts';
import { noisePng } from '../support/images.ts';
import { localEnv } from '../support/local-env.ts';
import { withOverrides } from '../support/stores.ts';
import { upload } from './support.ts';

const SERVER = fileURLToPath(new URL('../../functions/src/server.ts', import.meta.url));
const KILL_AT_PARTIAL = fileURLToPath(new URL('../support/kill-at-partial.cjs', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../functions/src/index.ts', import.meta.url));

/** What an upload document's blob is, by the document (the reconciler's own oracle is the store, too). */
async function blobKeyOf(api: TestApi, id: string): Promise<string> {
  return ((await api.store.get<{ blobKey: string }>('uploads', id)) as { blobKey: string }).blobKey;
}

/** A blob as a process that died between storing it and writing its document leaves it. */
async function storeWithoutDocument(blobs: BlobStore): Promise<string> {
  const key = `uploads/alice/${randomUUID()}.png`;
  await blobs.put(key, Readable.from([png()]), { contentType: 'image/png' });
  return key;
}

/** A file (a `.partial` piece, a `.meta` entry) as a dead process leaves it, last written `ageMs` ago. */
async function leave(path: string, ageMs: number): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, '{"contentType":"image/png"}');
  await backdate(path, ageMs);
  return path;
}

describe('reconcileUploads', function () {
  let api: TestApi;

  beforeEach(async function () {
    api = await startApi();
  });

  afterEach(async function () {
    await api.close();
  });

  it('removes the blobs no upload document names once older than the grace; keeps every named one and everything younger', async function () {
    const alice = await api.token();
    const oldUpload = await upload(api, alice, 'old.png', 'image/png', png());
    assert.equal(oldUpload.status, 201, oldUpload.text);
    const oldOrphan = await storeWithoutDocument(api.blobs);
    const boundary = await pastNewest(api.blobs, 'uploads/');
    const youngOrphan = await storeWithoutDocument(api.blobs);
    const youngUpload = await upload(api, alice, 'young.png', 'image/png', png());
    assert.equal(youngUpload.status, 201, youngUpload.text);

    const report = await reconcileUploads({ store: api.store, blobs: api.blobs, now: () => boundary + DEFAULT_GRACE_MS });

    assert.deepEqual(report.orphans.keys, [oldOrphan]);
    const named = [await blobKeyOf(api, oldUpload.json.id), await blobKeyOf(api, youngUpload.json.id)];
    assert.deepEqual(await api.blobs.list('uploads/'), [...named, youngOrphan].sort());
    for (const { json } of [oldUpload, youngUpload]) {
      const content = await api.request('GET', `/uploads/${json.id}/content`, { token: alice });
      assert.equal(content.status, 200);
      assert.equal(content.bytes.length, json.size);
    }
  });

  it('with the real clock, removes nothing just made: an upload in flight, or one whose document is being written, is safe', async function () {
    const orphan = await storeWithoutDocument(api.blobs);
    const report = await reconcileUploads({ store: api.store, blobs: api.blobs });
    assert.deepEqual(report.orphans.keys, []);
    assert.deepEqual(await api.blobs.list('uploads/'), [orphan]);
  });
});

describe('debris made for real: the local server killed (SIGKILL) the moment it starts writing uploads', function () {
  this.timeout(60_000);
  let dataDir: string;
  let server: ChildProcess | undefined;

  beforeEach(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'bastion-killed-'));
  });

  afterEach(async function () {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await once(server, 'exit');
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  /** `npm start`'s server on `env`, once it says where it listens. */
  async function startLocalServer(env: NodeJS.ProcessEnv): Promise<string> {
    const args = ['--disable-warning=ExperimentalWarning', '--require', KILL_AT_PARTIAL, SERVER];
    server = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    return new Promise((resolve, reject) => {
      const read = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
        if (url) resolve(url);
      };
      server!.stdout!.on('data', read);
      server!.stderr!.on('data', read);
      server!.once('exit', (code, signal) => reject(new Error(`the server exited (${signal ?? code}): ${output}`)));
    });
  }

  it('leaves what no document names; the reconciler keeps it while younger than the grace, then removes exactly that', async function () {
    // The finished upload creates the first blob file in .partial/; the server dies as it creates the second.
    const env = await localEnv(dataDir, { KILL_AT_PARTIAL_FILE: '2' });
    const blobDir = join(dataDir, 'blobs');
    const url = await startLocalServer(env);
    const token = await issueAccessToken((await loadConfig(env)).auth, { sub: 'alice', roles: ['user'], amr: ['pwd'], emailVerified: true });
    const post = (data: Buffer) => {
      const form = fileForm('photo.png', 'image/png', data);
      return send(url, 'POST', '/uploads', { token, raw: form.body, headers: { 'content-type': form.contentType } });
    };
    const finished = await post(png());
    assert.equal(finished.status, 201, finished.text);

    // The next file the server starts to write in .partial/ is its last act.
    const died = once(server!, 'exit');
    const inFlight = Array.from({ length: 4 }, () => post(noisePng(512, 512)).catch((error: unknown) => error as Error));
    const [, signal] = (await died) as [number | null, NodeJS.Signals | null];
    assert.equal(signal, 'SIGKILL');
    assert.ok(
      (await Promise.all(inFlight)).every((answer) => answer instanceof Error),
      'no upload in flight was answered',
    );

    const store = new SqliteDocumentStore({ path: join(dataDir, 'bastion.sqlite') });
    try {
      const blobs = new DiskBlobStore({ root: blobDir });
      const documents = (await store.query<{ blobKey: string }>('uploads', { limit: 100 })).documents;
      assert.deepEqual(
        documents.map((d) => d.id),
        [finished.json.id],
        'only the finished upload has a document',
      );
      const namedKey = documents[0]!.data.blobKey;
      const whole = [`.meta/${namedKey}.json`, namedKey];
      const left = await filesUnder(blobDir);
      assert.ok(left.length > whole.length, `the killed server left debris: ${JSON.stringify(left)}`);

      const early = await reconcileUploads({ store, blobs });
      assert.deepEqual([early.orphans.keys, early.leftovers.files], [[], 0]);
      assert.deepEqual(await filesUnder(blobDir), left, 'nothing younger than the grace is touched');

      await reconcileUploads({ store, blobs, now: () => Date.now() + DEFAULT_GRACE_MS + MINUTE });
      assert.deepEqual(await filesUnder(blobDir), whole.sort(), 'only the finished upload remains');
    } finally {
      await store.close();
    }
  });
});

describe('startReconciler (the local server: at start-up, then every interval)', function () {
  let api: TestApi;
  let root: string;
  let disk: DiskBlobStore;

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), 'bastion-reconciler-'));
    disk = new DiskBlobStore({ root });
    api = await startApi({}, { blobs: disk });
  });

  afterEach(async function () {
    await api.close();
    await rm(root, { recursive: true, force: true });
  });

  /** An orphan blob (and its .meta), its files last written `ageMs` ago. */
  async function orphanAged(ageMs: number): Promise<string> {
    const key = await storeWithoutDocument(disk);
    await backdate(join(root, key), ageMs);
    await backdate(join(root, '.meta', `${key}.json`), ageMs);
    return key;
  }

  const reconciledLine = () => api.logs.find((line) => line.message === 'upload blobs reconciled');

  it("at start-up removes what is older than the grace by its files' own times, though the process started just now", async function () {
    const named = await upload(api, await api.token(), 'kept.png', 'image/png', png());
    assert.equal(named.status, 201, named.text);
    const namedKey = await blobKeyOf(api, named.json.id);
    await backdate(join(root, namedKey), 2 * HOUR);
    await orphanAged(2 * HOUR);
    const youngOrphan = await orphanAged(10 * MINUTE);
    await leave(join(root, '.partial', randomUUID()), 2 * HOUR);
    const youngPartial = await leave(join(root, '.partial', randomUUID()), 10 * MINUTE);
    await leave(join(root, '.meta/uploads/alice/deleted.png.json'), 2 * HOUR);

    const reconciler = startReconciler({ store: api.store, blobs: disk, logger: api.runtime.logger });
    await reconciler.firstPass;
    await reconciler.stop();

    assert.deepEqual(await filesUnder(root), [`.meta/${namedKey}.json`, `.meta/${youngOrphan}.json`, youngPartial.slice(root.length + 1), namedKey, youngOrphan].sort());
    await waitFor(() => Boolean(reconciledLine()), { timeoutMs: 2000, what: 'the pass logged' });
    assert.deepEqual([reconciledLine()!.orphanBlobs, reconciledLine()!.leftoverFiles, reconciledLine()!.event], [1, 2, 'uploads.reconciled']);
  });

  it('a pass that fails is logged, and the next one, an interval later, does the work', async function () {
    let failures = 1;
    const flaky = withOverrides<BlobStore>(disk, {
      async listPage(prefix, options) {
        if (failures-- > 0) throw new Error('disk gone for a moment');
        return disk.listPage(prefix, options);
      },
    });
    const orphan = await orphanAged(2 * HOUR);
    const reconciler = startReconciler({ store: api.store, blobs: flaky, logger: api.runtime.logger, intervalMs: 1000 });
    try {
      await reconciler.firstPass;
      assert.deepEqual(await disk.list('uploads/'), [orphan]);
      await waitFor(() => api.logs.some((line) => line.message === 'could not reconcile upload blobs'), { timeoutMs: 2000, what: 'the failure logged' });
      await waitFor(async () => (await disk.list('uploads/')).length === 0, { timeoutMs: 5000, what: 'the next pass' });
    } finally {
      await reconciler.stop();
    }
  });

  it('refuses, at start, a grace under a minute or an interval under a second', function () {
    assert.throws(() => startReconciler({ store: api.store, blobs: disk, logger: api.runtime.logger, graceMs: 1000 }), TypeError);
    assert.throws(() => startReconciler({ store: api.store, blobs: disk, logger: api.runtime.logger, intervalMs: 10 }), TypeError);
  });
});

describe('on Cloud Functions: the scheduled function reconcile (index.ts)', function () {
  this.timeout(60_000);

  it("is exported as a scheduled function: hourly, in the functions' region, one instance at a time, and no Hosting rewrite names it", async function () {
    const exported = await import('../../functions/src/index.ts');
    const { REGION } = await import('../../functions/src/deploy/options.ts');
    const { hostingRewrites } = await import('../../functions/src/deploy/hosting.ts');
    // Declared: no FUNCTION_TARGET names an HTTP function here (index.ts).
    const reconcile = exported.reconcile;
    assert.ok(reconcile);
    const endpoint = (reconcile as unknown as { __endpoint: Record<string, any> }).__endpoint;
    assert.equal(endpoint.scheduleTrigger.schedule, 'every 60 minutes');
    assert.deepEqual(endpoint.region, [REGION]);
    assert.equal(endpoint.maxInstances, 1);
    assert.equal(endpoint.httpsTrigger, undefined);
    assert.equal(typeof reconcile.run, 'function');
    assert.ok(hostingRewrites().every((rewrite) => rewrite.function.functionId !== 'reconcile'));
  });

  it("runs the reconciler on the runtime's stores when Cloud Scheduler calls it", async function () {
    const dataDir = await mkdtemp(join(tmpdir(), 'bastion-scheduled-'));
    try {
      const root = join(dataDir, 'blobs');
      const blobs = new DiskBlobStore({ root });
      const store = new SqliteDocumentStore({ path: join(dataDir, 'bastion.sqlite') });
      const named = await storeWithoutDocument(blobs);
      await store.create('uploads', randomUUID(), { ownerId: 'alice', blobKey: named, size: png().length, contentType: 'image/png', createdAt: new Date().toISOString() });
      await store.close();
      const orphan = await storeWithoutDocument(blobs);
      const young = await storeWithoutDocument(blobs);
      for (const path of [named, `.meta/${named}.json`, orphan, `.meta/${orphan}.json`]) await backdate(join(root, path), 2 * HOUR);
      await leave(join(root, '.partial', randomUUID()), 2 * HOUR);

      // Its own process: the runtime is the process's, made from the environment on first use.
      const run = `const { reconcile } = await import(${JSON.stringify(ENTRY)}); await reconcile.run({ scheduleTime: new Date().toISOString(), jobName: 'spec' });`;
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', run], {
        env: await localEnv(dataDir),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, output);

      assert.deepEqual(await filesUnder(root), [`.meta/${named}.json`, `.meta/${young}.json`, named, young].sort());
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
