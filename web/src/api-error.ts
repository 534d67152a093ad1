/** A failure the app can describe: the API's error shape, or Firebase Auth's, or the network's. */
import type { ApiProblem } from './messages.ts';

export class ApiError extends Error implements ApiProblem {
  readonly status: number;
  readonly code: string;
  readonly retryAfterSeconds: number | undefined;
  readonly requestId: string | undefined;
  readonly details: unknown;

  constructor(problem: ApiProblem & { details?: unknown }) {
    super(problem.message);
    this.status = problem.status;
    this.code = problem.code;
    this.retryAfterSeconds = problem.retryAfterSeconds;
    this.requestId = problem.requestId;
    this.details = problem.details;
  }
}
