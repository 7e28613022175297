/**
 * Fault injection for the crash tests: `BATCHSCORE_FAULTS` lists faults as `kind@where`,
 * separated by commas, for example `crash@2,kill@before-publish`. Kinds:
 * - `kill@<point>`: the process kills itself with SIGKILL at a named commit point;
 * - `crash@<partition>`: the worker thread exits while it holds that partition;
 * - `write-error@<partition>`: writing that partition fails with EIO;
 * - `hang@<partition>`: the worker never finishes that partition.
 * Worker faults fire on the first attempt only, so a retry succeeds.
 * The variable is meant for tests; an unset variable costs one lookup per call.
 */
const faults = new Set((process.env.BATCHSCORE_FAULTS ?? '').split(',').filter(Boolean));

/** Fires the fault `kind@where` if it is configured; returns whether it is configured. */
export function injectFault(kind: string, where: string | number, attempt = 0): boolean {
  if (faults.size === 0 || attempt > 0 || !faults.has(`${kind}@${where}`)) return false;
  if (kind === 'kill') process.kill(process.pid, 'SIGKILL');
  return true;
}
