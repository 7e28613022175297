import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HistoryRecord } from './events.js';

/** Name of a schedule's run history inside its state folder. */
export const HISTORY_FILE = 'history.jsonl';
/** Name of a schedule's job lock inside its state folder. */
export const JOB_LOCK_FILE = 'job.lock';

/**
 * Reads a schedule's run history, oldest first. Returns an empty list when the state
 * folder has no history yet.
 *
 * A line that is not valid JSON is left out: a process killed while it appended a line can
 * leave the last line cut short.
 */
export async function readHistory(stateDir: string): Promise<HistoryRecord[]> {
  let text: string;
  try {
    text = await readFile(join(stateDir, HISTORY_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: HistoryRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as HistoryRecord);
    } catch {
      // A line cut short by a crash; see above.
    }
  }
  return records;
}

/**
 * Appends one record to the history. The line is written with a single `write` on a
 * file opened for appending, so lines of two processes that share the state folder do
 * not interleave on a local file system.
 */
export async function appendHistory(stateDir: string, record: HistoryRecord): Promise<void> {
  await appendFile(join(stateDir, HISTORY_FILE), `${JSON.stringify(record)}\n`, { flush: true });
}

/** Returns the time of the latest tick in a history, or null for an empty history. */
export function lastTick(records: readonly HistoryRecord[]): Date | null {
  let latest: number | null = null;
  for (const record of records) {
    const time = Date.parse(record.scheduledAt);
    if (!Number.isNaN(time) && (latest === null || time > latest)) latest = time;
  }
  return latest === null ? null : new Date(latest);
}
