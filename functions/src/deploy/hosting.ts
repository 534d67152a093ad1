/**
 * firebase.json's Hosting rules, generated (by `npm run docs`) from what the code declares:
 * every function's paths rewrite to it in REGION, and the web app's page headers apply to
 * everything else — never to the API's answers, which carry their own (a JSON CSP, and
 * `sandbox` on downloads) that page headers would replace.
 *
 * Patterns are RE2 regular expressions, as Hosting takes them: a glob such as `/auth/**` does
 * not match dot segments (`/auth/.well-known/jwks.json`), and RE2 has no lookahead, so the
 * page rule spells out "any first segment but the API's" as a complement over a trie.
 */
import { FUNCTION_NAMES, ROOT_PATHS } from '../app.ts';
import { recordHelmetHeaders } from '../pipeline/security-headers.ts';
import { FIREBASE_SIGN_IN_ORIGINS } from '../auth/firebase-web-sign-in.ts';
import { REGION, WEB_FIREBASE_SIGN_IN } from './options.ts';

export interface HostingRewrite {
  regex: string;
  function: { functionId: string; region: string };
}

export interface HostingHeaders {
  regex: string;
  headers: { key: string; value: string }[];
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

/** A path and everything under it. */
const underPath = (path: string) => `^${escape(path)}(?:/.*)?$`;

interface TrieNode {
  end: boolean;
  children: Map<string, TrieNode>;
}

/** An RE2 pattern for any path segment (no `/`) other than `words`. */
export function segmentOtherThan(words: readonly string[]): string {
  const root: TrieNode = { end: false, children: new Map() };
  for (const word of words) {
    let node = root;
    for (const char of word) {
      let next = node.children.get(char);
      if (!next) node.children.set(char, (next = { end: false, children: new Map() }));
      node = next;
    }
    node.end = true;
  }
  const pattern = (node: TrieNode): string => {
    const branches: string[] = [];
    if (!node.end) branches.push(''); // the segment may stop here
    const next = [...node.children.keys()];
    branches.push(next.length ? `[^/${next.map(escape).join('')}][^/]*` : '[^/]+'); // or leave every word here
    for (const [char, child] of node.children) branches.push(`${escape(char)}(?:${pattern(child)})`);
    return branches.join('|');
  };
  return `(?:${pattern(root)})`;
}

/** The API's paths: each function's prefix, and the root paths the functions answer (ROOT_PATHS). */
export function hostingRewrites(): HostingRewrite[] {
  return [
    ...FUNCTION_NAMES.map((name) => ({ regex: underPath(`/${name}`), function: { functionId: name, region: REGION } })),
    ...Object.entries(ROOT_PATHS).map(([path, name]) => ({ regex: `^${escape(path)}$`, function: { functionId: name, region: REGION } })),
  ];
}

export function hostingHeaders(options: { firebaseSignIn?: boolean } = {}): HostingHeaders[] {
  const connectSources = (options.firebaseSignIn ?? WEB_FIREBASE_SIGN_IN) ? FIREBASE_SIGN_IN_ORIGINS : [];
  const apiSegments = [...FUNCTION_NAMES, ...Object.keys(ROOT_PATHS).map((path) => path.split('/')[1]!)];
  return [
    {
      regex: `^/${segmentOtherThan(apiSegments)}(?:/.*)?$`,
      headers: recordHelmetHeaders('page', { connectSources }).map(([key, value]) => ({ key, value })),
    },
  ];
}

/** firebase.json with its Hosting rules replaced by the generated ones; everything else kept. */
export function withHostingRules(firebaseJson: Record<string, unknown>): Record<string, unknown> {
  const hosting = (firebaseJson.hosting ?? {}) as Record<string, unknown>;
  return { ...firebaseJson, hosting: { ...hosting, rewrites: hostingRewrites(), headers: hostingHeaders() } };
}
