/**
 * Tests send nothing beyond loopback — shown, not trusted. Loaded by mocha (.mocharc.json
 * `require`), and through NODE_OPTIONS into every Node process the tests start with the
 * inherited environment (the emulator stack: firebase-tools, the functions, the Storage
 * emulator; npm): it refuses any connection or name lookup that would leave loopback and
 * writes down who tried, one JSON line each, in test/.artifacts/outbound-attempts.log. After
 * the last spec, mocha fails the run if anything was written.
 */
'use strict';
const dns = require('node:dns');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

// The first process to load this (mocha) starts the log and hands it, and this file, down.
const first = process.env.LOOPBACK_ONLY_LOG === undefined;
const LOG = (process.env.LOOPBACK_ONLY_LOG ??= path.join(__dirname, '..', '.artifacts', 'outbound-attempts.log'));
if (first) {
  fs.mkdirSync(path.dirname(LOG), { recursive: true });
  fs.writeFileSync(LOG, '');
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(__filename)}`.trim();
}

function isLoopback(host) {
  if (host === undefined || host === null || host === '') return true; // node's default is localhost
  const name = String(host)
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (net.isIPv4(name)) return name.startsWith('127.');
  if (net.isIPv6(name)) return name === '::1' || /^(0:){7}1$/.test(name) || /^::ffff:127\./.test(name);
  return false; // any other name would be looked up, then reached
}

function refuse(kind, target) {
  const entry = { pid: process.pid, argv: process.argv.slice(1, 3).join(' '), kind, target, stack: new Error().stack.split('\n').slice(2, 8) };
  fs.appendFileSync(LOG, `${JSON.stringify(entry)}\n`);
  return Object.assign(new Error(`loopback-only: refused ${kind} ${target}`), { code: 'ECONNREFUSED' });
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const [options] = net._normalizeArgs(args);
  if (!options.path && !isLoopback(options.host)) {
    const error = refuse('connect', `${options.host}:${options.port}`);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, args);
};

// A lookup asks a name server, unless it is of an address literal (as a server's listen does).
const harmless = (hostname) => isLoopback(hostname) || net.isIP(String(hostname).replace(/^\[(.*)\]$/, '$1')) !== 0;
const lookup = dns.lookup;
dns.lookup = function (hostname, ...rest) {
  if (harmless(hostname)) return lookup.call(this, hostname, ...rest);
  const callback = rest.at(-1);
  const error = Object.assign(refuse('lookup', hostname), { code: 'ENOTFOUND' });
  if (typeof callback === 'function') process.nextTick(() => callback(error));
  return {};
};
const lookupPromise = dns.promises.lookup;
dns.promises.lookup = function (hostname, ...rest) {
  if (harmless(hostname)) return lookupPromise.call(this, hostname, ...rest);
  return Promise.reject(Object.assign(refuse('lookup', hostname), { code: 'ENOTFOUND' }));
};

/** mocha root hooks: after every spec, the run fails if any process tried to leave loopback. */
exports.mochaHooks = {
  afterAll() {
    if (!first) return;
    const attempts = fs.readFileSync(LOG, 'utf8').trim();
    if (attempts) throw new Error(`something tried to reach beyond loopback (${LOG}):\n${attempts}`);
  },
};
