/**
 * Which passwords are accepted: 12 to 128 characters, and not weak or common by zxcvbn-ts
 * (dictionaries of common passwords, names and words, keyboard patterns, repeats, dates), also
 * judged against the account's own email. Refusals carry the reason, in words for the person.
 *
 * Registration is unauthenticated, so the check must cost the server little and hold nothing
 * up. zxcvbn's cost grows superlinearly with length (its matchers try every substring): a random
 * 128-character password took 2–3.7 s of CPU, and five of them stalled every request of the
 * process for 10 s. So it is bounded twice:
 * - only the first 64 characters are judged, as zxcvbn itself advises (its `maxLength`: "longer
 *   passwords are considered strong anyway"; dropbox/zxcvbn suggests 50–100 characters). A
 *   prefix that scores 4 is already beyond 10^10 guesses; a repeated chunk of up to 32
 *   characters shows at least twice in it, and a longer password that is one such chunk repeated
 *   is cut after its last whole chunk (judgedPart, password-strength.ts), so repeats are judged
 *   as repeats;
 * - the check runs in a worker thread with a deadline (password-strength.ts), since even 64
 *   characters cost 0.3–0.8 s of CPU. A check that cannot be done (busy, crashed, past
 *   its deadline) answers 503 with Retry-After: the password is not at fault, so it is not
 *   refused as weak.
 */
import { createStrengthChecker, type StrengthChecker } from './password-strength.ts';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;
/** Characters zxcvbn judges, from the start of the password. */
export const PASSWORD_JUDGED_LENGTH = 64;
/**
 * zxcvbn's top score, 4: at least 10^10 guesses ("very unguessable"). Twelve characters allow
 * that easily; a lower bar would admit dictionary words with a year or a suffix.
 */
const MIN_SCORE = 4;

export type PasswordVerdict = { ok: true } | { ok: false; reason: string; suggestions: string[] };

let shared: StrengthChecker | undefined;
/** The process's one checker (one worker thread), made on the first judgement. */
function defaultChecker(): StrengthChecker {
  shared ??= createStrengthChecker({ maxLength: PASSWORD_JUDGED_LENGTH });
  return shared;
}

/**
 * Rejects with AuthBusyError or PasswordCheckUnavailableError (503) when the check cannot be
 * done now. `checker` is for specs; the default is the process's own.
 */
export async function judgePassword(password: string, userInputs: string[] = [], checker: StrengthChecker = defaultChecker()): Promise<PasswordVerdict> {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return { ok: false, reason: `Use at least ${PASSWORD_MIN_LENGTH} characters.`, suggestions: [] };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { ok: false, reason: `Use at most ${PASSWORD_MAX_LENGTH} characters.`, suggestions: [] };
  }
  const inputs = userInputs.flatMap((input) => [input, ...input.split(/[@.+_-]/)]).filter((input) => input.length >= 3);
  const result = await checker.check(password, inputs);
  if (result.score >= MIN_SCORE) return { ok: true };
  return {
    ok: false,
    reason: result.warning ?? 'This password is too easy to guess.',
    suggestions: result.suggestions,
  };
}
