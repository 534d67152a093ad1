/**
 * `npm run lockfile:functions`: writes functions/package-lock.json, the lockfile `firebase deploy`
 * uploads with functions/ so that Cloud Build installs the versions the tests ran instead of
 * resolving every transitive version afresh.
 *
 * The root lockfile (the workspace's only one) is the one source of versions. The packages
 * functions/ reaches in the root tree are copied into a seed lockfile rooted at functions/; npm
 * itself (lockfile only, offline, no scripts) turns the seed into its own lockfile, flags and
 * all; and the result is refused unless every package in it resolves, edge by edge, to the
 * root's copy (same version, resolved and integrity) and nothing else is in it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** One `packages` entry of a lockfile (v3); keys are install locations such as `node_modules/a/node_modules/b`. */
export interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
  [field: string]: unknown;
}

export interface Lockfile {
  name: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

type Packages = Record<string, LockEntry>;

interface Edge {
  name: string;
  /** Allowed to be absent: an optional dependency (npm skips it where it cannot install). */
  optional: boolean;
}

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** The workspace's location in the root lockfile and its folder in the repository. */
const WORKSPACE = 'functions';
/** The fields that identify what npm installs at a location. */
const IDENTITY = ['name', 'version', 'resolved', 'integrity'] as const;
/** Flags npm computes from the tree it is given; the seed leaves them to npm. */
const NPM_FLAGS = ['dev', 'optional', 'devOptional', 'peer', 'extraneous'];

/** The folder holding `location` (`''` is the lockfile's root), or undefined above the root. */
function parentOf(location: string): string | undefined {
  if (location === '') return undefined;
  const cut = location.lastIndexOf('/node_modules/');
  return cut === -1 ? '' : location.slice(0, cut);
}

/** Where Node (and npm) finds `name` required from `from`: the nearest `node_modules/name` up the tree. */
function resolveIn(packages: Packages, from: string, name: string): string | undefined {
  for (let dir: string | undefined = from; dir !== undefined; dir = parentOf(dir)) {
    const location = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[location]) return location;
  }
  return undefined;
}

/** What a package needs installed: its dependencies, optional ones and required peers (and the root's devDependencies). */
function edgesOf(entry: LockEntry, isRoot: boolean): Edge[] {
  const edges = new Map<string, Edge>();
  const add = (deps: Record<string, string> | undefined, optional: boolean) => {
    for (const name of Object.keys(deps ?? {})) if (!edges.has(name) || !optional) edges.set(name, { name, optional });
  };
  add(entry.optionalDependencies, true);
  add(entry.dependencies, false);
  if (isRoot) add(entry.devDependencies, false);
  const requiredPeers = Object.fromEntries(Object.entries(entry.peerDependencies ?? {}).filter(([name]) => entry.peerDependenciesMeta?.[name]?.optional !== true));
  add(requiredPeers, false);
  return [...edges.values()];
}

/** Every root-tree location the workspace reaches, with the locations that reach each one. */
function reachedFromWorkspace(packages: Packages): Map<string, Set<string>> {
  const dependents = new Map<string, Set<string>>();
  const queue = [WORKSPACE];
  for (let from = queue.shift(); from !== undefined; from = queue.shift()) {
    const entry = packages[from]!;
    for (const edge of edgesOf(entry, from === WORKSPACE)) {
      const location = resolveIn(packages, from, edge.name);
      if (!location) {
        if (edge.optional) continue;
        throw new Error(`root lockfile: ${from} needs ${edge.name}, which is not installed; run npm install`);
      }
      if (packages[location]!.link) throw new Error(`root lockfile: ${from} reaches the workspace link ${location}, which a deployed copy cannot`);
      if (!dependents.has(location)) queue.push(location);
      dependents.set(location, (dependents.get(location) ?? new Set()).add(from));
    }
  }
  return dependents;
}

/** The package folders enclosing `location`, innermost first: `node_modules/a/node_modules/b` → [`node_modules/a`]. */
function enclosingPackages(location: string): string[] {
  const enclosing: string[] = [];
  for (let dir = parentOf(location); dir; dir = parentOf(dir)) enclosing.push(dir);
  return enclosing;
}

/**
 * Where each reached package goes in a tree rooted at functions/: `functions/node_modules/x`
 * moves up to `node_modules/x`, and the root's own `node_modules/x` it displaces (with what is
 * nested in it) moves down under each package that used it, where it wins their resolution
 * again. Everything else keeps the root's layout. Returns target location → root location.
 */
function placeUnderWorkspace(dependents: Map<string, Set<string>>): Map<string, string> {
  const prefix = `${WORKSPACE}/`;
  const lifted = new Set([...dependents.keys()].filter((location) => location.startsWith(prefix)).map((location) => location.slice(prefix.length)));
  const displacedBy = (location: string) => [location, ...enclosingPackages(location)].filter((dir) => lifted.has(dir)).at(-1);
  const placed = new Map<string, string>();
  for (const location of dependents.keys()) {
    const displacer = location.startsWith(prefix) ? undefined : displacedBy(location);
    if (displacer === undefined) {
      placed.set(location.startsWith(prefix) ? location.slice(prefix.length) : location, location);
      continue;
    }
    for (const user of dependents.get(displacer)!) {
      if (displacedBy(user) !== undefined) throw new Error(`cannot place ${location} under ${user}, which functions/node_modules displaces too`);
      placed.set(`${user}/${location}`, location);
    }
  }
  return placed;
}

/** The entry npm would read for a package, without the flags npm recomputes for the new tree. */
function withoutFlags(entry: LockEntry): LockEntry {
  return Object.fromEntries(Object.entries(entry).filter(([field]) => !NPM_FLAGS.includes(field)));
}

/** A lockfile rooted at functions/ whose packages are the root lockfile's copies, placed by placeUnderWorkspace. */
function seedLockfile(root: Lockfile, manifest: { name: string; version?: string }): Lockfile {
  const placed = placeUnderWorkspace(reachedFromWorkspace(root.packages));
  const packages: Packages = { '': { ...withoutFlags(root.packages[WORKSPACE]!), name: manifest.name } };
  for (const [target, source] of [...placed].sort(([a], [b]) => a.localeCompare(b))) packages[target] = withoutFlags(root.packages[source]!);
  return { name: manifest.name, ...(manifest.version ? { version: manifest.version } : {}), lockfileVersion: 3, requires: true, packages };
}

/**
 * Throws unless every package in `lockfile` is, edge by edge from its root, the package the
 * root lockfile gives functions/ there (same name, version, resolved, integrity), and nothing
 * else is in it.
 */
function assertMatchesRoot(lockfile: Lockfile, root: Lockfile): void {
  const counterpart = new Map<string, string>([['', WORKSPACE]]);
  const queue = [''];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    const from = counterpart.get(at)!;
    for (const edge of edgesOf(root.packages[from]!, at === '')) {
      const expected = resolveIn(root.packages, from, edge.name);
      const actual = resolveIn(lockfile.packages, at, edge.name);
      if (expected === undefined && actual === undefined) continue;
      if (expected === undefined || actual === undefined) throw new Error(`${at || '(root)'} → ${edge.name}: ${actual ?? 'missing'}, the root lockfile has ${expected ?? 'none'}`);
      for (const field of IDENTITY) {
        if (lockfile.packages[actual]![field] !== root.packages[expected]![field]) {
          throw new Error(`${actual}: ${field} ${String(lockfile.packages[actual]![field])}, the root lockfile's ${expected} has ${String(root.packages[expected]![field])}`);
        }
      }
      if (!counterpart.has(actual)) {
        counterpart.set(actual, expected);
        queue.push(actual);
      }
    }
  }
  const extra = Object.keys(lockfile.packages).filter((location) => !counterpart.has(location));
  if (extra.length > 0) throw new Error(`packages functions/ does not need: ${extra.join(', ')}`);
}

/** npm with no inherited npm_config_* (an `npm run` parent exports its local prefix, which is the repository). */
function npm(args: string[], cwd: string): void {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry']);
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_') || keep.has(key.toLowerCase())));
  try {
    execFileSync('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`npm ${args.join(' ')} failed in a copy of ${WORKSPACE}/:\n${stderr}`, { cause: error });
  }
}

/** Whether the root lockfile leaves registry packages' `resolved` out (npm's omit-lockfile-registry-resolved). */
function omitsResolved(root: Lockfile): boolean {
  return Object.entries(root.packages).every(([location, entry]) => !location.includes('node_modules/') || entry.link || entry.resolved === undefined);
}

/** npm's own lockfile for functions/package.json, laid out from the seed (lockfile only, offline). */
function npmLockfile(manifestText: string, seed: Lockfile, omitResolved: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'functions-lockfile-'));
  try {
    writeFileSync(join(dir, 'package.json'), manifestText);
    writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(seed, null, 2)}\n`);
    npm(
      ['install', '--package-lock-only', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', '--lockfile-version=3', `--omit-lockfile-registry-resolved=${omitResolved}`],
      dir,
    );
    return readFileSync(join(dir, 'package-lock.json'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same dependency names and ranges, in any order. */
function sameDependencies(a: Record<string, string> = {}, b: Record<string, string> = {}): boolean {
  const sorted = (deps: Record<string, string>) => JSON.stringify(Object.entries(deps).sort(([x], [y]) => x.localeCompare(y)));
  return sorted(a) === sorted(b);
}

/** Throws unless the root lockfile records functions/package.json's dependencies as they are now (else it is stale). */
function assertRootCurrent(root: Lockfile, manifest: LockEntry): void {
  const recorded = root.packages[WORKSPACE];
  if (!recorded) throw new Error(`root lockfile: no ${WORKSPACE} workspace; run npm install`);
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const) {
    if (!sameDependencies(recorded[field], manifest[field])) {
      throw new Error(`the root lockfile's ${field} of ${WORKSPACE} differ from ${WORKSPACE}/package.json; run npm install first`);
    }
  }
}

/** The text functions/package-lock.json must hold, from the root lockfile and functions/package.json as they are now. */
export function functionsLockfile(repo = REPO): string {
  const root = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as Lockfile;
  const manifestText = readFileSync(join(repo, WORKSPACE, 'package.json'), 'utf8');
  const manifest = JSON.parse(manifestText) as LockEntry & { name: string };
  assertRootCurrent(root, manifest);
  const text = npmLockfile(manifestText, seedLockfile(root, manifest), omitsResolved(root));
  assertMatchesRoot(JSON.parse(text) as Lockfile, root);
  return text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = functionsLockfile();
  writeFileSync(join(REPO, WORKSPACE, 'package-lock.json'), text);
  const count = Object.keys((JSON.parse(text) as Lockfile).packages).length - 1;
  process.stdout.write(`wrote functions/package-lock.json (${count} packages)\n`);
}
