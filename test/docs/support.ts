/** Requests built from the OpenAPI document, as a generated client would build them. */
import { sample } from 'openapi-sampler';
import { generatedDocs } from '../../functions/src/docs/generated.ts';
import type { OpenApiDocument } from '../../functions/src/docs/openapi.ts';
import type { Response, TestApi } from '../support/api.ts';
import { png } from '../support/images.ts';
import { fileForm } from '../support/multipart.ts';

export type Json = Record<string, any>;

/** The document as `npm run docs` writes it. */
export const documented = JSON.parse(generatedDocs()['openapi.json']) as OpenApiDocument;

export function operations(doc: OpenApiDocument = documented): { method: string; path: string; op: Json }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ method, path, op: op })));
}

/** A value for a schema, from its examples and constraints; of a `oneOf` or `anyOf`, the first branch. */
export function sampled(schema: Json): unknown {
  const first = schema.oneOf?.[0] ?? schema.anyOf?.[0];
  const merged = first ? { ...schema, oneOf: undefined, anyOf: undefined, required: [...(schema.required ?? []), ...(first.required ?? [])] } : schema;
  return sample(merged, { skipNonRequired: true });
}

/** Path parameters and a JSON body that the operation's documented schemas allow. */
export function validInput(op: Json): { params: Json; body: unknown } {
  const params = Object.fromEntries((op.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => [p.name, sampled(p.schema)]));
  const bodySchema = op.requestBody?.content['application/json']?.schema;
  return { params, body: bodySchema ? sampled(bodySchema) : undefined };
}

export interface RequestInput {
  params?: Json;
  query?: string;
  body?: unknown;
  /** Sent as a bearer token when the operation takes one. */
  token?: string;
  headers?: Record<string, string>;
}

export function requestFor(api: TestApi, method: string, path: string, op: Json, input: RequestInput = {}): Promise<Response> {
  const url = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(input.params?.[name] ?? 'x')));
  const target = `${url}${input.query ?? ''}`;
  const bearer = op.security.some((requirement: Json) => 'bearerAuth' in requirement);
  const auth = bearer && input.token ? { token: input.token } : {};
  if (op.requestBody?.content['multipart/form-data']) {
    const form = fileForm('picture.png', 'image/png', png());
    return api.request(method.toUpperCase(), target, { ...auth, raw: form.body, headers: { ...input.headers, 'content-type': form.contentType } });
  }
  return api.request(method.toUpperCase(), target, { ...auth, headers: { ...input.headers }, ...(input.body === undefined ? {} : { body: input.body }) });
}
