/**
 * Validates params, query and body against the route's zod schemas before the handler runs.
 * A route without a query schema takes no query parameters, one without a body schema takes
 * no body: anything unexpected is an error, never silently ignored. Problems in all three
 * places are reported together in `details`.
 */
import { z } from 'zod';
import { readJsonBody, hasBody } from './body.ts';
import type { Middleware } from './context.ts';
import { ApiError } from '../errors/api-error.ts';

type Location = 'params' | 'query' | 'body';
interface Detail {
  location: Location;
  path: string;
  message: string;
}

const NOTHING = z.strictObject({});

function check(schema: z.ZodType, value: unknown, location: Location, details: Detail[]): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    details.push({ location, path: issue.path.map(String).join('.'), message: issue.message });
  }
  return undefined;
}

/** The query's parameters by name; one given twice is a problem in `details`. */
function parametersOf(searchParams: URLSearchParams, details: Detail[]): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of searchParams) {
    if (name in query) details.push({ location: 'query', path: name, message: 'Give this parameter once.' });
    query[name] = value;
  }
  return query;
}

export interface ValidateOptions {
  bodyLimitBytes: number;
}

export function validate(options: ValidateOptions): Middleware {
  return (ctx, next) => {
    const route = ctx.route!;
    const checked = (body: unknown) => {
      const details: Detail[] = [];
      const query = ctx.queryString === '' ? undefined : parametersOf(ctx.searchParams, details);
      ctx.input = {
        params: check(route.params ?? NOTHING, ctx.pathParams, 'params', details),
        // No query schema and no parameters: what NOTHING would answer, without asking zod.
        query: route.query === undefined && query === undefined ? {} : check(route.query ?? NOTHING, query ?? {}, 'query', details),
        body: route.body ? check(route.body, body, 'body', details) : undefined,
      };
      if (details.length > 0) throw new ApiError('validation_failed', { details });
      return next();
    };

    if (route.multipart) {
      // The handler streams it (see uploads/multipart.ts), which checks the type again, with its boundary.
      if (!/^multipart\/form-data\s*;/i.test(ctx.req.headers['content-type'] ?? '')) {
        throw new ApiError('unsupported_media_type', { params: { expected: 'multipart/form-data' } });
      }
    } else if (route.body) {
      // Only a JSON body is waited for; everything else is checked at once.
      return readJsonBody(ctx.req, options.bodyLimitBytes).then(checked);
    } else if (hasBody(ctx.req)) {
      throw new ApiError('unexpected_body');
    }
    return checked(undefined);
  };
}
