import { hostname } from 'node:os';
import { open, readFile, rm } from 'node:fs/promises';
import { OutputError } from '../errors.js';

interface LockOwner {
  pid: number;
  hostname: string;
  runId: string;
  startedAt: string;
}

/** A held output lock. */
export interface OutputLock {
  release(): Promise<void>;
}

/**
 * Takes the lock of an output so that two runs never write it at once, in this process
 * or another. A lock left by a process that no longer runs on this host is taken over.
 *
 * NOTE: the check that the owner is alive works only for owners on the same host; on a
 * shared file system, a lock left by another host must be removed by hand.
 */
export async function lockOutput(path: string, runId: string): Promise<OutputLock> {
  const owner: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    runId,
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(JSON.stringify(owner));
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw lockFailed(path, error);
      const current = await readOwner(path);
      if (current !== undefined && isAlive(current)) throw locked(path, current);
      await rm(path, { force: true });
    }
  }
  throw locked(path, await readOwner(path));
}

/**
 * Returns whether a live process holds the lock at `path`. A lock of another host counts
 * as held, because its owner cannot be checked from here.
 */
export async function isLockHeld(path: string): Promise<boolean> {
  const owner = await readOwner(path);
  return owner !== undefined && isAlive(owner);
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockOwner;
  } catch {
    // A lock file being written or removed right now, or garbage: treat it as stale.
    return undefined;
  }
}

function isAlive(owner: LockOwner): boolean {
  if (owner.hostname !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function locked(path: string, owner: LockOwner | undefined): OutputError {
  const who = owner === undefined
    ? 'another run'
    : `run ${owner.runId} (pid ${owner.pid} on ${owner.hostname}, since ${owner.startedAt})`;
  return new OutputError('ERR_OUTPUT_LOCKED', `The output is being written by ${who}`, {
    file: path,
    fix: 'Wait for that run to finish; if no such process runs, delete the lock file',
  });
}

function lockFailed(path: string, error: unknown): OutputError {
  const reason = error instanceof Error ? error.message : String(error);
  return new OutputError('ERR_OUTPUT_NOT_WRITABLE', `Cannot create the output lock: ${reason}`, {
    file: path,
    fix: 'Check that the output\'s parent directory exists and is writable',
    cause: error,
  });
}
