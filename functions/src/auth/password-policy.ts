/**
 * Which passwords are accepted: 12 to 128 characters, and not weak or common by zxcvbn-ts
 * (dictionaries of common passwords, names and words, keyboard patterns, repeats, dates), also
 * judged against the account's own email. Refusals carry the reason, in words for the person.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;
/**
 * zxcvbn's top score, 4: at least 10^10 guesses ("very unguessable"). Twelve characters allow
 * that easily; a lower bar would admit dictionary words with a year or a suffix.
 */
const MIN_SCORE = 4;

export type PasswordVerdict = { ok: true } | { ok: false; reason: string; suggestions: string[] };

let checker: ZxcvbnFactory | undefined;
function zxcvbn(): ZxcvbnFactory {
  // Built on first use: the dictionaries take ~100 ms to load, which only the auth routes need.
  checker ??= new ZxcvbnFactory({
    translations: english.translations,
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...english.dictionary },
  });
  return checker;
}

export async function judgePassword(password: string, userInputs: string[] = []): Promise<PasswordVerdict> {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return { ok: false, reason: `Use at least ${PASSWORD_MIN_LENGTH} characters.`, suggestions: [] };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { ok: false, reason: `Use at most ${PASSWORD_MAX_LENGTH} characters.`, suggestions: [] };
  }
  const inputs = userInputs.flatMap((input) => [input, ...input.split(/[@.+_-]/)]).filter((input) => input.length >= 3);
  const result = await zxcvbn().check(password, inputs);
  if (result.score >= MIN_SCORE) return { ok: true };
  return {
    ok: false,
    reason: result.feedback.warning ?? 'This password is too easy to guess.',
    suggestions: result.feedback.suggestions,
  };
}
