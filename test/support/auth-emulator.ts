/** Firebase Auth emulator calls the specs make: its Identity Toolkit API, as a client app or as the project's owner. */
import assert from 'node:assert/strict';

/**
 * POST to the emulator's Identity Toolkit API at `host`: as a client app when the path carries
 * `?key=`, else as the project's owner (what the Admin SDK calls). Answers the JSON; a refusal fails the spec.
 */
export async function identityToolkit(host: string, path: string, body: unknown): Promise<Record<string, any>> {
  const response = await fetch(`http://${host}/identitytoolkit.googleapis.com/v1/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(path.includes('?key=') ? {} : { authorization: 'Bearer owner' }) },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, any>;
  assert.ok(response.ok, JSON.stringify(json));
  return json;
}
