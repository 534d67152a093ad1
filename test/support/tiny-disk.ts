/**
 * A real, tiny disk for the specs of a full disk: a tmpfs of a few KiB, mounted without root in
 * a mount namespace of its own (`unshare -rm`: an unprivileged user namespace) by a child
 * process that holds it until released. This process reaches it through /proc/<child>/root,
 * so the code under test (a driver, the whole server) runs here, in-process, and meets the
 * kernel's own ENOSPC. Where user namespaces are not allowed, `tinyDiskUnavailable` says why.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipBecause } from './skip.ts';

export interface TinyDisk {
  /** The disk's top folder, as this process reaches it. */
  path: string;
  /** Unmounts it (its namespace ends with the child holding it). */
  release(): Promise<void>;
}

const MOUNT = 'mount -t tmpfs -o "size=$1,mode=0700" tmpfs "$0"';

let unavailable: string | null | undefined;

/** Why no tiny disk can be mounted here, or null if one can. */
export function tinyDiskUnavailable(): string | null {
  if (unavailable !== undefined) return unavailable;
  const folder = mkdtempSync(join(tmpdir(), 'bastion-tiny-disk-probe-'));
  try {
    const probe = spawnSync('unshare', ['-rm', 'sh', '-c', MOUNT, folder, '4096'], { encoding: 'utf8' });
    unavailable = probe.error ? `unshare: ${probe.error.message}` : probe.status === 0 ? null : `unshare -rm: ${probe.stderr.trim()}`;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return unavailable;
}

/** For a suite's `before`: skips the suite, saying why in its title, where no tiny disk can be mounted. */
export function skipWithoutTinyDisk(context: Mocha.Context): void {
  const why = tinyDiskUnavailable();
  if (why) skipBecause(context, why);
}

/** A tmpfs of `bytes` (rounded up to whole pages by the kernel), empty. */
export async function mountTinyDisk(bytes: number): Promise<TinyDisk> {
  const folder = mkdtempSync(join(tmpdir(), 'bastion-tiny-disk-'));
  // `cat` holds the namespace (and so the mount) until its stdin closes.
  const holder = spawn('unshare', ['-rm', 'sh', '-c', `${MOUNT} && echo mounted && exec cat`, folder, String(bytes)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  holder.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('mounted')) resolve();
    });
    holder.once('exit', (code) => reject(new Error(`could not mount a tiny disk (${code}): ${output}`)));
  });
  return {
    path: `/proc/${holder.pid}/root${folder}`,
    async release() {
      if (holder.exitCode === null && holder.signalCode === null) {
        const exited = once(holder, 'exit');
        holder.stdin.end();
        await exited;
      }
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
