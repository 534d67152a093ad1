/**
 * Preloaded (`--require`) into a server that a spec kills mid-upload: the process sends itself
 * SIGKILL the moment it has created its Nth blob file in the disk driver's `.partial/`
 * (`KILL_AT_PARTIAL_FILE=N`; its `.json` type files are not counted). A watcher in the spec's
 * own process noticed the file a few milliseconds late on a loaded machine, in which time an
 * upload could be written, linked, stored and answered; here the kill cannot come after that.
 * Not a spec itself.
 */
const fs = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');
const { sep } = require('node:path');

const killAt = Number(process.env.KILL_AT_PARTIAL_FILE);
if (!Number.isInteger(killAt) || killAt < 1) throw new Error('kill-at-partial: KILL_AT_PARTIAL_FILE must be a positive integer');
const inPartial = `${sep}.partial${sep}`;
let created = 0;

const open = fs.promises.open;
fs.promises.open = async function openThenMaybeDie(path, flags, mode) {
  const handle = await open.call(this, path, flags, mode);
  const name = String(path);
  if (flags === 'wx' && name.includes(inPartial) && !name.endsWith('.json')) {
    created += 1;
    if (created >= killAt) process.kill(process.pid, 'SIGKILL');
  }
  return handle;
};
// The driver imports `node:fs/promises` as an ES module: give its bindings the wrapped `open`.
syncBuiltinESMExports();
