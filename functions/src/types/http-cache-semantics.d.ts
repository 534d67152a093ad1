/**
 * The part of http-cache-semantics 4.3 that outbound/client.ts uses. The package's `types`
 * field points at its JavaScript (JSDoc types TypeScript does not read from node_modules).
 */
declare module 'http-cache-semantics' {
  interface HttpRequest {
    url?: string;
    method?: string;
    headers: Record<string, string>;
  }
  interface HttpResponse {
    status?: number;
    headers: Record<string, string>;
  }
  interface CachePolicyOptions {
    /** A cache shared by many users (a proxy) ignores `private` answers; a client's own may keep them. */
    shared?: boolean;
  }
  export default class CachePolicy {
    constructor(request: HttpRequest, response: HttpResponse, options?: CachePolicyOptions);
    /** Whether the answer may be cached at all. */
    storable(): boolean;
    /** Whether the cached answer may be used for this request as it is, without asking again. */
    satisfiesWithoutRevalidation(request: HttpRequest): boolean;
    /** Milliseconds until it is stale (negative once it is). */
    timeToLive(): number;
  }
}
