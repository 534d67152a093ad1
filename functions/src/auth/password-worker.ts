/**
 * The password-strength check's own thread, started by password-strength.ts. zxcvbn-ts costs
 * hundreds of milliseconds of CPU per password even on its 64-character prefix, and on the main
 * thread that would stall every other request of the process; here it stalls nothing.
 * It loads the dictionaries once and answers one message at a time:
 * `{ id, password, userInputs }` → `{ id, score, warning, suggestions }` (or `{ id, error }`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

export interface StrengthRequest {
  id: number;
  password: string;
  userInputs: string[];
}

export type StrengthReply = { id: number; score: number; warning: string | null; suggestions: string[] } | { id: number; error: string };

export interface PasswordWorkerData {
  /** zxcvbn's own cut-off (its `maxLength`); the checker already sends no more than this. */
  maxLength: number;
}

const port = parentPort;
if (port) {
  const { maxLength } = workerData as PasswordWorkerData;
  const zxcvbn = new ZxcvbnFactory({
    translations: english.translations,
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...english.dictionary },
    maxLength,
  });
  port.on('message', ({ id, password, userInputs }: StrengthRequest) => {
    let reply: StrengthReply;
    try {
      const { score, feedback } = zxcvbn.check(password, userInputs);
      reply = { id, score, warning: feedback.warning, suggestions: feedback.suggestions };
    } catch (error) {
      reply = { id, error: String(error) };
    }
    port.postMessage(reply);
  });
}
