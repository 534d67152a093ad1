/**
 * TRUSTED_PROXIES: the proxies trusted, by address, to say in X-Forwarded-For whom they
 * forward for. Deployed, a function answers on its own URL and behind Firebase Hosting, whose
 * CDN adds a hop only to the second; trusting the CDN by address is right for both, where a
 * hop count is wrong for one (see pipeline/client-ip.ts).
 */
import { isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Firebase Hosting's CDN is Fastly: these are Fastly's published ranges, from
 * https://api.fastly.com/public-ip-list (`addresses`, then `ipv6_addresses`), as published in
 * 2024. A deployment overrides them with TRUSTED_PROXIES: `none`, or its own list, in which
 * `firebase-hosting` stands for this one.
 */
export const FIREBASE_HOSTING_RANGES: readonly string[] = [
  '23.235.32.0/20',
  '43.249.72.0/22',
  '103.244.50.0/24',
  '103.245.222.0/23',
  '103.245.224.0/24',
  '104.156.80.0/20',
  '140.248.64.0/18',
  '140.248.128.0/17',
  '146.75.0.0/17',
  '151.101.0.0/16',
  '157.52.64.0/18',
  '167.82.0.0/17',
  '167.82.128.0/20',
  '167.82.160.0/20',
  '167.82.224.0/20',
  '172.111.64.0/18',
  '185.31.16.0/22',
  '199.27.72.0/21',
  '199.232.0.0/16',
  '2a04:4e40::/32',
  '2a04:4e42::/32',
];

/** TRUSTED_PROXIES' words: no proxy at all, and the list above. */
export const NO_TRUSTED_PROXIES = 'none';
export const FIREBASE_HOSTING = 'firebase-hosting';

const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

/**
 * A strictly written address, or undefined: IPv4 as four decimal parts (no `127.1`, no octal
 * or hex, which ipaddr.js alone would read), IPv6 as node:net accepts it. An IPv4-mapped IPv6
 * address is its IPv4.
 */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!isIPv6(text) || !ipaddr.IPv6.isValid(text)) return undefined;
  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

/** One range, canonical (`151.101.0.0/16`; a bare address is its /32 or /128), or why not. */
function parseRange(entry: string): { range: string } | { error: string } {
  const slash = entry.indexOf('/');
  const text = slash === -1 ? entry : entry.slice(0, slash);
  const prefixText = slash === -1 ? undefined : entry.slice(slash + 1);
  if (text.includes('%')) return { error: `${entry}: a zone index has no place in a range` };
  if (isIPv6(text) && ipaddr.IPv6.isValid(text) && ipaddr.IPv6.parse(text).isIPv4MappedAddress()) {
    return { error: `${entry}: an IPv4-mapped range; write it as IPv4` };
  }
  const address = parseAddress(text);
  if (!address) return { error: `${entry}: not an IP address or CIDR range` };
  const bits = address.kind() === 'ipv4' ? 32 : 128;
  if (prefixText !== undefined && !PREFIX.test(prefixText)) return { error: `${entry}: the prefix length must be a plain number of bits` };
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix === 0) return { error: `${entry}: a /0 would trust every address, so anyone could choose their own` };
  if (prefix > bits) return { error: `${entry}: the prefix length is more than ${bits}` };
  const network = networkOf(address, prefix);
  if (network.toByteArray().join() !== address.toByteArray().join()) {
    return { error: `${entry}: has host bits set; the range is ${format(network)}/${prefix}` };
  }
  return { range: `${format(network)}/${prefix}` };
}

/** The first `prefix` bits of an address, the rest zero. */
export function networkOf<A extends ipaddr.IPv4 | ipaddr.IPv6>(address: A, prefix: number): A {
  const bytes = address.toByteArray();
  const masked = bytes.map((byte, i) => {
    const kept = Math.min(Math.max(prefix - i * 8, 0), 8);
    return byte & ((0xff << (8 - kept)) & 0xff);
  });
  return ipaddr.fromByteArray(masked) as A;
}

/** IPv4 dotted; IPv6 with its longest run of zero groups as `::` (RFC 5952). */
export function format(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (address.kind() === 'ipv4') return address.toString();
  const groups = (address as ipaddr.IPv6).parts.map((part) => part.toString(16));
  let best = { start: 0, length: 1 }; // a single zero group stays as it is
  for (let start = 0; start < groups.length; start += 1) {
    let end = start;
    while (groups[end] === '0') end += 1;
    if (end - start > best.length) best = { start, length: end - start };
  }
  if (best.length === 1) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`;
}

/**
 * TRUSTED_PROXIES, read: comma-separated CIDR ranges (or bare addresses), `firebase-hosting`
 * for the list above, or `none` alone. Answers the canonical ranges, or every entry that is
 * wrong and why: a typo here must stop start-up, not trust the wrong addresses.
 */
export function parseTrustedProxies(value: string): { ranges: string[] } | { errors: string[] } {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) return { errors: [`list CIDR ranges, or write ${NO_TRUSTED_PROXIES}`] };
  if (entries.includes(NO_TRUSTED_PROXIES)) {
    return entries.length === 1 ? { ranges: [] } : { errors: [`${NO_TRUSTED_PROXIES} must stand alone`] };
  }
  const ranges: string[] = [];
  const errors: string[] = [];
  for (const entry of entries) {
    if (entry === FIREBASE_HOSTING) {
      ranges.push(...FIREBASE_HOSTING_RANGES);
      continue;
    }
    const result = parseRange(entry);
    if ('range' in result) ranges.push(result.range);
    else errors.push(result.error);
  }
  return errors.length > 0 ? { errors } : { ranges: [...new Set(ranges)] };
}
