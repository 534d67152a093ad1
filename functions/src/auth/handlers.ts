import type { HandlerInput, Reply } from '../pipeline/route.ts';

/** Publishes the public halves of every accepted signing key (current and previous). */
export async function jwks({ services }: HandlerInput<unknown, unknown, unknown>): Promise<Reply> {
  return { status: 200, body: { keys: services.signingKeys.verification } };
}
