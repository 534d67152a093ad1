/**
 * The client's address, which the per-IP rate limits and brute-force counts key on (ctx.ip).
 * Deployed, a function answers on its own URL (Google's front end appends the caller) and
 * behind Firebase Hosting (whose CDN appends the client, then the front end appends the CDN),
 * so no one hop count is right for both. As proxy-addr (Express's, Fastify's) does, the
 * address is found by walking from the socket's peer leftwards through X-Forwarded-For for as
 * long as the hop is trusted: one of the first TRUSTED_PROXY_HOPS (the platform's front end),
 * or an address in TRUSTED_PROXIES (the CDN). A direct caller's own entries lie left of the
 * address the front end appended, which is no proxy's, so they are never read. IPv4-mapped
 * IPv6 counts as IPv4, IPv6 per /64; an unknown peer is the one shared identity `unknown`.
 */
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';
import { format, networkOf, parseAddress } from '../config/trusted-proxies.ts';
import type { Request } from './inputs.ts';

export interface ClientIpOptions {
  /** Hops next to the server trusted whatever their address: the platform's front end (TRUSTED_PROXY_HOPS). */
  trustedProxyHops: number;
  /** Canonical CIDR ranges of proxies trusted wherever they are in the chain (TRUSTED_PROXIES, as config reads it). */
  trustedProxies: readonly string[];
}

/** The one identity of every request whose peer is not known: shared, never chosen by the client. */
export const UNKNOWN_CLIENT = 'unknown';

/** No real chain of proxies is longer; the walk stops here, which bounds both work and trust. */
export const MAX_TRUSTED_HOPS = 16;

/** An IPv6 subscriber is given a /64 (at least), and picks addresses in it at will. */
export const IPV6_CLIENT_PREFIX = 64;

/** How much of X-Forwarded-For the debug line keeps. */
const LOGGED_CHAIN_CHARS = 1024;

/** The identity an address is counted as: IPv4 itself, IPv6 its /64 (`2001:db8:1:2::/64`). */
function identityOf(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (address.kind() === 'ipv4') return format(address);
  return `${format(networkOf(address, IPV6_CLIENT_PREFIX))}/${IPV6_CLIENT_PREFIX}`;
}

/** Resolves requests to client identities; the options are checked here, once. */
export function clientIp(options: ClientIpOptions): (req: Request) => string {
  const hops = options.trustedProxyHops;
  if (!Number.isInteger(hops) || hops < 0 || hops >= MAX_TRUSTED_HOPS) {
    throw new TypeError(`clientIp: trustedProxyHops must be an integer from 0 to ${MAX_TRUSTED_HOPS - 1}`);
  }
  const v4: [ipaddr.IPv4, number][] = [];
  const v6: [ipaddr.IPv6, number][] = [];
  for (const range of options.trustedProxies) {
    const [network, bits] = ipaddr.parseCIDR(range);
    if (bits === 0) throw new TypeError(`clientIp: ${range} would trust every address`);
    if (network.kind() === 'ipv4') v4.push([network as ipaddr.IPv4, bits]);
    else v6.push([network as ipaddr.IPv6, bits]);
  }
  const inTrustedRange = (address: ipaddr.IPv4 | ipaddr.IPv6): boolean =>
    address.kind() === 'ipv4'
      ? v4.some(([network, bits]) => (address as ipaddr.IPv4).match(network, bits))
      : v6.some(([network, bits]) => (address as ipaddr.IPv6).match(network, bits));

  // proxy-addr asks about each hop, the peer being hop 0, and stops at the first it is told not to trust.
  const trust = (hop: string, index: number): boolean => {
    if (index >= MAX_TRUSTED_HOPS) return false;
    if (index < hops) return true;
    const address = parseAddress(hop);
    return address !== undefined && inTrustedRange(address);
  };

  // Without X-Forwarded-For the peer alone is the client: worked out once per connection.
  const peers = new WeakMap<object, string>();
  const identityOfPeer = (peer: string): string => {
    const address = parseAddress(peer);
    return address ? identityOf(address) : UNKNOWN_CLIENT;
  };

  return (req) => {
    const { socket } = req;
    const peer = socket?.remoteAddress;
    if (peer === undefined) return UNKNOWN_CLIENT;
    if (req.headers['x-forwarded-for'] === undefined) {
      let identity = peers.get(socket);
      if (identity === undefined) peers.set(socket, (identity = identityOfPeer(peer)));
      return identity;
    }
    if (parseAddress(peer) === undefined) return UNKNOWN_CLIENT;
    // The peer, then every hop the walk passed; the last is the client. If that entry is not an
    // address, the trusted hop that wrote it is counted instead: still no one the client chose.
    const walked = proxyaddr.all(req, trust);
    for (let i = walked.length - 1; i >= 0; i -= 1) {
      const address = parseAddress(walked[i]!);
      if (address) return identityOf(address);
    }
    return UNKNOWN_CLIENT;
  };
}

/** The raw chain, for the debug line that lets an operator check the rule against a deployment. */
export function forwardingChain(req: Request): { peer: string | undefined; forwardedFor: string | undefined } {
  const header = req.headers['x-forwarded-for'];
  const forwardedFor = Array.isArray(header) ? header.join(', ') : header;
  return { peer: req.socket?.remoteAddress, forwardedFor: forwardedFor?.slice(0, LOGGED_CHAIN_CHARS) };
}
