/**
 * Signed server-to-server requests (auth/request-signing.ts says what is signed;
 * auth/service-credentials.ts verifies it). A request carrying X-Bastion-Signature to a route
 * that is not public is verified here, before the bearer-token stage, which it then spares: its
 * principal is the service credential's, with the credential's roles. Its body is read here (up
 * to the body limit) to be hashed, and kept for validation. Uploads, whose bodies the handler
 * streams, take a user's token, not a signature.
 */
import { DOCUMENT_ID_PATTERN } from '../store/ids.ts';
import { ApiError } from '../errors/api-error.ts';
import { KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, type SignedParts } from '../auth/request-signing.ts';
import { hasBody, readRawBody } from './body.ts';
import type { Context, Middleware } from './context.ts';
import type { Principal } from './inputs.ts';
import { isPublic } from './route.ts';

export interface SignedRequestOptions {
  /** The principal of a valid signature, or an ApiError (auth/service-credentials.ts's verifySignedRequest). */
  verify: (keyId: string, signature: string, parts: SignedParts) => Promise<Principal>;
  bodyLimitBytes: number;
}

const SIGNATURE = /^v1=([0-9a-f]{64})$/;
const TIMESTAMP = /^\d{1,12}$/;
const invalid = (reason: string) => new ApiError('signature_invalid', { params: { reason } });

export function signedRequest({ verify, bodyLimitBytes }: SignedRequestOptions): Middleware {
  async function verifyRequest(ctx: Context, presented: string | string[]): Promise<void> {
    const { req } = ctx;
    if (req.headers.authorization !== undefined) throw invalid('send a signature or a bearer token, not both');
    if (ctx.route!.multipart) throw invalid("uploads take a user's token, not a signature");
    const keyId = req.headers[KEY_ID_HEADER];
    const timestamp = req.headers[TIMESTAMP_HEADER];
    const hex = typeof presented === 'string' ? SIGNATURE.exec(presented)?.[1] : undefined;
    if (!hex) throw invalid(`${SIGNATURE_HEADER} must be "v1=" and 64 hex digits`);
    if (typeof keyId !== 'string' || !DOCUMENT_ID_PATTERN.test(keyId)) throw invalid(`${KEY_ID_HEADER} must be a key id`);
    if (typeof timestamp !== 'string' || !TIMESTAMP.test(timestamp)) throw invalid(`${TIMESTAMP_HEADER} must be Unix seconds`);
    const body = hasBody(req) ? await readRawBody(req, bodyLimitBytes) : Buffer.alloc(0);
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    const [path, query] = mark === -1 ? [url, ''] : [url.slice(0, mark), url.slice(mark + 1)];
    ctx.principal = await verify(keyId, hex, { method: req.method ?? 'GET', path, query, body, timestamp: Number(timestamp) });
    ctx.logFields.serviceKeyId = keyId;
  }

  return (ctx, next) => {
    const presented = ctx.req.headers[SIGNATURE_HEADER];
    if (presented === undefined || isPublic(ctx.route!.access)) return next();
    return verifyRequest(ctx, presented).then(next);
  };
}
