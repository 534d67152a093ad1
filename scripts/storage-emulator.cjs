#!/usr/bin/env node
/**
 * The Firebase Storage emulator's HTTP server (the Cloud Storage JSON API, written in Node in
 * firebase-tools) without the Java security-rules runtime that `firebase emulators:start`
 * downloads first. The API serves bastion's Admin-SDK requests, which rules never apply to, so
 * CI can run the Cloud Storage legs on a machine without internet or Java.
 *
 *   node test/support/storage-emulator.cjs <port> <path to an installed firebase-tools>
 *
 * Prints "storage emulator ready on 127.0.0.1:<port>" once listening. The emulator keeps objects
 * in memory and in the system temp folder, and ignores preconditions such as ifGenerationMatch.
 */
'use strict';
const path = require('node:path');

const port = Number(process.argv[2]);
const firebaseTools = process.argv[3];
if (!port || !firebaseTools) {
  console.error('usage: storage-emulator.cjs <port> <firebase-tools folder>');
  process.exit(2);
}
const storage = path.join(path.resolve(firebaseTools), 'lib', 'emulator', 'storage');
const { StorageEmulator } = require(path.join(storage, 'index.js'));
const { createApp } = require(path.join(storage, 'server.js'));
const { EmulatorRegistry } = require(path.join(storage, '..', 'registry.js'));

(async () => {
  const projectId = process.env.GCLOUD_PROJECT || 'demo-bastion';
  const denyAll = 'rules_version = "2"; service firebase.storage { match /b/{bucket}/o { match /{all=**} { allow read, write: if false; } } }';
  const emulator = new StorageEmulator({ projectId, host: '127.0.0.1', port, rules: denyAll, auto_download: false });
  EmulatorRegistry.set(emulator.getName(), emulator); // the emulator builds its URLs from the registry
  const app = await createApp(projectId, emulator);
  app.listen(port, '127.0.0.1', () => console.log(`storage emulator ready on 127.0.0.1:${port}`));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
