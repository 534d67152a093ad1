/**
 * Matches a path against the declared routes. Paths are compared segment by segment; a
 * `:name` segment captures one segment. A function also answers under its own root (the
 * Cloud Functions URL has no `/items` prefix, Hosting rewrites and the local server keep it).
 */
import type { FunctionName, Method, Route } from './route.ts';

interface CompiledRoute {
  route: Route;
  segments: string[];
  /** Per segment, the name a `:name` segment captures (made once, not sliced per request). */
  paramNames: (string | undefined)[];
}

export type RouteMatch = { kind: 'found'; route: Route; params: Record<string, string> } | { kind: 'method-not-allowed'; allowed: Method[] } | { kind: 'not-found' };

export class Router {
  readonly routes: readonly Route[];
  /** Compiled routes by their number of segments, which a path must have to match. */
  readonly #bySegmentCount = new Map<number, CompiledRoute[]>();
  readonly #base: string;

  constructor(functionName: FunctionName, routes: readonly Route[]) {
    this.#base = `/${functionName}`;
    this.routes = routes.filter((route) => route.function === functionName);
    for (const route of this.routes) {
      if (route.path !== this.#base && !route.path.startsWith(`${this.#base}/`)) {
        throw new Error(`route ${route.id} must live under ${this.#base}`);
      }
      const segments = split(route.path);
      const sameLength = this.#bySegmentCount.get(segments.length) ?? [];
      sameLength.push({ route, segments, paramNames: segments.map((s) => (s.startsWith(':') ? s.slice(1) : undefined)) });
      this.#bySegmentCount.set(segments.length, sameLength);
    }
  }

  /** Paths without the function's prefix (its own URL) are read as if they had it. */
  normalize(path: string): string {
    return path === this.#base || path.startsWith(`${this.#base}/`) ? path : `${this.#base}${path === '/' ? '' : path}`;
  }

  match(method: string, rawPath: string): RouteMatch {
    const segments = split(this.normalize(rawPath));
    const allowed: Method[] = [];
    for (const { route, segments: pattern, paramNames } of this.#bySegmentCount.get(segments.length) ?? []) {
      const params = matchSegments(pattern, paramNames, segments);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { kind: 'found', route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  }
}

/** The methods a path answers to, for `Allow` and CORS preflight. */
export function methodsFor(router: Router, path: string): Method[] {
  const methods = new Set<Method>();
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const match = router.match(method, path);
    if (match.kind === 'found') methods.add(method);
    else if (match.kind === 'method-not-allowed') match.allowed.forEach((m) => methods.add(m));
  }
  return [...methods];
}

/** The path's segments, empty ones (from `//` or a trailing `/`) left out. */
function split(path: string): string[] {
  const segments: string[] = [];
  let start = 0;
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    if (end > start) segments.push(path.slice(start, end));
    start = end + 1;
  }
  return segments;
}

function matchSegments(pattern: string[], paramNames: (string | undefined)[], segments: string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i += 1) {
    const expected = pattern[i]!;
    const actual = segments[i]!;
    const name = paramNames[i];
    if (name !== undefined) {
      let decoded = actual;
      if (actual.includes('%')) {
        try {
          decoded = decodeURIComponent(actual);
        } catch {
          return null;
        }
      }
      params[name] = decoded;
    } else if (expected !== actual) {
      return null;
    }
  }
  return params;
}
