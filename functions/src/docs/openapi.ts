/**
 * The OpenAPI 3.1 document, generated from the route policy (the full list: src/routes.ts) and its zod
 * schemas (zod's own JSON Schema output, draft 2020-12 as OpenAPI 3.1 uses): every route with
 * its parameters, body, success response and every error it may answer in the shared error
 * shape; the security schemes; and per operation the access policy and rate-limit buckets as
 * `x-` extensions. Never written by hand: `npm run docs` writes docs/openapi.json from this.
 */
import { z } from 'zod';
import type { AppCheckMode, Config } from '../config/index.ts';
import { ROLES } from '../config/index.ts';
import { ERROR_CODES } from '../errors/catalog.ts';
import { BUCKET_DEFINITIONS, WINDOW_SECONDS } from '../pipeline/rate-limit.ts';
import { appCheckModeOf } from '../pipeline/app-check.ts';
import { isPublic, type BucketName, type Route } from '../pipeline/route.ts';

/** The API's version in the OpenAPI document: raise it when the contract changes. */
export const API_VERSION = '1.0.0';

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, Operation>> };
type Operation = Record<string, unknown>;
type JsonSchema = Record<string, unknown>;

export interface OpenApiOptions {
  version: string;
  rateLimits: Config['rateLimits'];
  sessionCookieName: string;
  appCheckModes: Config['appCheck']['modes'];
  /** Whether Firebase Auth ID tokens are taken (FIREBASE_AUTH). */
  firebaseAuth: boolean;
}

/** The one error shape every failure has (see pipeline/error-mapper.ts), its codes from the catalog. */
export const errorResponse = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).meta({ description: 'Stable, for programs: one of the error catalog (functions/src/errors/catalog.ts)' }),
      message: z.string().meta({ description: 'For people' }),
      requestId: z.string().meta({ description: 'Quote it when reporting a problem' }),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

/** What GET /openapi.json answers, in brief. */
export const openApiDocumentResponse = z
  .object({ openapi: z.string(), info: z.object({ title: z.string(), version: z.string() }).catchall(z.unknown()), paths: z.record(z.string(), z.unknown()) })
  .catchall(z.unknown())
  .meta({ id: 'OpenApiDocument' });

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid (validation_failed, invalid_json, unexpected_body, …)',
  401: 'No valid credentials (missing_token, invalid_token, token_expired, or the route\'s own)',
  403: 'Not allowed: forbidden (roles), mfa_required (step-up), recent_sign_in_required, origin_not_allowed, csrf_token_invalid',
  404: 'Not found (also what another owner\'s document answers)',
  409: 'Conflicts with the current state',
  413: 'Too large (payload_too_large, or the upload limits)',
  415: 'Unsupported media type (or, for uploads, a type witness that disagrees)',
  429: 'Rate limited: retry after Retry-After seconds',
  500: 'Something failed on the server (internal_error); quote the request id',
  503: 'A store is unavailable or busy; retry after Retry-After',
};

/** `/items/:id` → `/items/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}');
}

/** zod spells `format: date-time` out as a long regex too; the format says it. */
const override = ({ jsonSchema }: { jsonSchema: JsonSchema }) => {
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
};

/** JSON Schema as OpenAPI 3.1 has it (draft 2020-12); what JSON cannot say is left open. */
const JSON_SCHEMA = { target: 'draft-2020-12', unrepresentable: 'any', override } as const;

/** What a client sends (`input`: before zod's defaults and transforms) or gets back (`output`). */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { ...JSON_SCHEMA, io }) as JsonSchema;
  return json;
}

function inputSchema(schema: z.ZodType): JsonSchema {
  return jsonSchemaOf(schema, 'input');
}

/** A response schema: a reference when it has an id (see components), else inline. */
function outputSchema(schema: z.ZodType): JsonSchema {
  const id = z.globalRegistry.get(schema)?.id;
  return id ? { $ref: `#/components/schemas/${id}` } : jsonSchemaOf(schema, 'output');
}

function parameters(route: Route): JsonSchema[] {
  const result: JsonSchema[] = [];
  for (const [location, schema] of [['path', route.params], ['query', route.query]] as const) {
    if (!schema) continue;
    const json = inputSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      result.push({ name, in: location, required: location === 'path' || (json.required ?? []).includes(name), schema: property });
    }
  }
  return result;
}

function requestBody(route: Route): JsonSchema | undefined {
  if (route.multipart) {
    return {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: { file: { type: 'string', contentMediaType: 'application/octet-stream', description: 'One PNG, JPEG or GIF' } },
            required: ['file'],
            additionalProperties: false,
          },
          encoding: { file: { contentType: 'image/png, image/jpeg, image/gif' } },
        },
      },
    };
  }
  if (!route.body) return undefined;
  return { required: true, content: { 'application/json': { schema: inputSchema(route.body) } } };
}

/** The statuses a route may answer besides success: the pipeline's, by its policy, and its handler's. */
export function failureStatuses(route: Route, appCheck: AppCheckMode = 'off'): number[] {
  const statuses = new Set<number>([400, 403, 429, 500, 503]); // validation, origin, global bucket, internal, store
  if (!isPublic(route.access) || appCheck === 'enforce') statuses.add(401);
  if (route.params) statuses.add(404);
  if (route.body || route.multipart) {
    statuses.add(413);
    statuses.add(415);
  }
  for (const status of route.failures ?? []) statuses.add(status);
  return [...statuses].sort((a, b) => a - b);
}

interface BucketDoc {
  bucket: 'global' | BucketName;
  limit: number;
  windowSeconds: number;
  per: string;
}

/** The buckets a route draws from, as pipeline/rate-limit.ts counts them. */
export function rateLimitsOf(route: Route, limits: Config['rateLimits']): BucketDoc[] {
  // The global bucket counts per IP before authentication; the route's own, per user (per IP when public).
  const subject = isPublic(route.access) ? 'ip' : 'user';
  return (['global', ...route.rateLimit] as const).map((bucket) => {
    const { perRoute, points } = BUCKET_DEFINITIONS[bucket];
    const per = bucket === 'global' ? 'ip' : subject;
    return { bucket, limit: points(limits), windowSeconds: WINDOW_SECONDS, per: perRoute ? `${per} and route` : per };
  });
}

function operation(route: Route, options: OpenApiOptions): Operation {
  const responses: Record<string, unknown> = {};
  const { success } = route;
  responses[String(success.status)] = {
    description: success.description,
    ...(success.body ? { content: { 'application/json': { schema: outputSchema(success.body) } } } : {}),
    ...(success.media ? { content: Object.fromEntries(success.media.map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])) } : {}),
  };
  const appCheck = appCheckModeOf(route, options.appCheckModes);
  for (const status of failureStatuses(route, appCheck)) {
    responses[String(status)] = { description: ERROR_DESCRIPTIONS[status], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  const access = route.access;
  const credentials = isPublic(access)
    ? route.cookieSession
      ? [{}, { sessionCookie: [], csrfToken: [] }]
      : []
    : [
        { bearerAuth: [] },
        ...(options.firebaseAuth ? [{ firebaseIdToken: [] }] : []),
        ...(route.multipart ? [] : [{ serviceKeyId: [], serviceTimestamp: [], serviceSignature: [] }]),
      ];
  // Enforced, an App Check token goes with whatever else the route asks (monitored, it is asked of nobody).
  // (A signed server-to-server request is not asked for one: App Check attests apps, not servers.)
  const security =
    appCheck !== 'enforce'
      ? credentials
      : credentials.length === 0
        ? [{ appCheck: [] }]
        : credentials.map((requirement) => ('serviceSignature' in requirement ? requirement : { ...requirement, appCheck: [] }));
  const body = requestBody(route);
  const params = parameters(route);
  return {
    operationId: route.id,
    summary: route.summary,
    tags: [route.function],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    responses,
    security,
    'x-access': isPublic(access) ? { public: true } : { roles: access.roles, mfaRoles: access.mfa ?? [] },
    'x-rate-limit': rateLimitsOf(route, options.rateLimits),
    'x-app-check': { mode: appCheck, consume: route.appCheck?.consume === true },
  };
}

/** Components of every response schema that has an id, with references between them. */
function componentSchemas(routes: readonly Route[]): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  const add = (schema: z.ZodType) => {
    const id = z.globalRegistry.get(schema)?.id;
    if (id) registry.add(schema, { id });
  };
  add(errorResponse);
  for (const route of routes) if (route.success.body) add(route.success.body);
  const { schemas } = z.toJSONSchema(registry, { ...JSON_SCHEMA, io: 'output', uri: (id) => `#/components/schemas/${id}` }) as {
    schemas: Record<string, JsonSchema>;
  };
  // Nested schemas with ids of their own (Account inside Session) land in zod's `__shared`
  // definitions: make them components too, and point the references at them.
  const { __shared: shared, ...named } = schemas;
  const all: Record<string, JsonSchema> = { ...named, ...((shared?.$defs as Record<string, JsonSchema> | undefined) ?? {}) };
  const result: Record<string, JsonSchema> = {};
  for (const [id, { $schema: _, $id: __, ...schema }] of Object.entries(all)) result[id] = schema;
  return JSON.parse(JSON.stringify(result).replaceAll('#/components/schemas/__shared#/$defs/', '#/components/schemas/')) as Record<string, JsonSchema>;
}

export function openApiDocument(routes: readonly Route[], options: OpenApiOptions): OpenApiDocument {
  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of routes) {
    (paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operation(route, options);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'bastion',
      version: options.version,
      description:
        'A secure-by-default HTTP API: auth, items and uploads behind one security pipeline. ' +
        'Every error has the shape of the Error schema. Roles: ' + ROLES.join(', ') + '. ' +
        'x-access names the roles an operation allows and which of them need an MFA sign-in; ' +
        'x-rate-limit lists the buckets it draws from; x-app-check says whether App Check is off, monitored or enforced, and whether each token is taken once.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'auth', description: 'Accounts, sessions, MFA' },
      { name: 'items', description: 'Items CRUD' },
      { name: 'uploads', description: 'Image uploads' },
    ],
    paths,
    components: {
      schemas: componentSchemas(routes),
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token from login, refresh or MFA verify' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: options.sessionCookieName, description: 'Browser sessions: the HttpOnly refresh cookie' },
        csrfToken: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token', description: 'With the session cookie: the csrfToken from login or GET /auth/session' },
        ...(options.firebaseAuth
          ? {
              firebaseIdToken: {
                type: 'http',
                scheme: 'bearer',
                bearerFormat: 'JWT',
                description: "A Firebase Auth ID token of the project's users: roles from its roles custom claim, MFA from a second-factor sign-in",
              },
            }
          : {}),
        serviceKeyId: { type: 'apiKey', in: 'header', name: 'X-Bastion-Key-Id', description: 'Signed requests: the service credential’s key id' },
        serviceTimestamp: { type: 'apiKey', in: 'header', name: 'X-Bastion-Timestamp', description: 'Signed requests: Unix seconds, within 300 s of the server’s clock' },
        serviceSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Bastion-Signature',
          description:
            'Signed requests: v1=<hex HMAC-SHA256 with the credential’s secret> of "BASTION-HMAC-SHA256\\n<timestamp>\\n<METHOD>\\n<path>\\n<sorted query>\\n<hex SHA-256 of the body>"; each signature once',
        },
        appCheck: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Firebase-AppCheck',
          description: "A Firebase App Check token of one of the project's apps; where x-app-check says consume, a limited-use one, taken once",
        },
      },
    },
  };
}
