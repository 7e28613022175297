/** Maximum pause between retries of a failed broker call, in milliseconds. */
export const MAX_BACKOFF_MS = 5_000;

/** Returns the pause before retry `attempt` (from 1): 200 ms doubling up to the maximum. */
export function backoffMs(attempt: number): number {
  return Math.min(100 * 2 ** attempt, MAX_BACKOFF_MS);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Returns `error` as an Error, wrapping a thrown value that is not an Error. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
