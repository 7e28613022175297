/**
 * Both ends of a benchmark case that runs in a child process. Each case runs in a fresh
 * process so that one case's heap, WebAssembly memory and worker threads cannot slow
 * down or inflate the memory of the next, and so that its peak RSS is its own.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Marks the stdout line that carries a case's JSON result. */
export const RESULT_PREFIX = 'BENCH_RESULT ';

const running = new Set();

/**
 * Tracks a child process until it exits, so that {@link killRunning} can stop it when
 * the suite itself is stopped.
 */
export function track(child) {
  running.add(child);
  child.on('close', () => running.delete(child));
  return child;
}

/** Kills every tracked child process that is still running. */
export function killRunning() {
  for (const child of running) killTree(child);
}

/**
 * Kills a child process and its own children. Under GNU time the CLI is a grandchild,
 * and killing `time` alone would leave it running.
 */
export function killTree(child) {
  let children = [];
  try {
    const list = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8');
    children = list.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Without /proc the grandchildren cannot be found; only the child is killed.
  }
  for (const pid of children) process.kill(pid, 'SIGKILL');
  child.kill('SIGKILL');
}

/**
 * Returns a function that returns the CPU seconds (user and system, every thread of the
 * process) spent since this call. CPU time counts the work done, which another load on
 * the machine changes much less than it changes wall time.
 */
export function cpuTimer() {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1e6;
  };
}

/**
 * Runs `run(params)` with the parameters passed as JSON in `process.argv[2]`, and prints
 * its result with the process's peak RSS. Used as the body of each case script.
 */
export async function runAsChild(run) {
  const params = JSON.parse(process.argv[2] ?? '{}');
  const result = await run(params);
  // maxRSS (KiB) is the peak resident set of the whole process, worker threads included.
  const usage = process.resourceUsage();
  result.peakRssMiB = usage.maxRSS / 1024;
  // All the CPU time of the process since it started, to tell it from other load.
  result.processCpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/**
 * Spawns `command` with `args` and resolves with the JSON result that it prints, or with
 * `{ error }` when it fails or runs longer than `timeoutMs`.
 */
export function runChild(command, args, { timeoutMs, env } = {}) {
  return new Promise((resolve) => {
    const child = track(spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env === undefined ? process.env : { ...process.env, ...env },
    }));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text) => (stderr = (stderr + text).slice(-4000)));
    let timedOut = false;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      killTree(child);
    }, timeoutMs);
    child.on('error', (error) => resolve({ error: error.message }));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((each) => each.startsWith(RESULT_PREFIX));
      if (code === 0 && line !== undefined) {
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)));
        return;
      }
      const reason = timedOut
        ? `timed out after ${timeoutMs / 1000} s`
        : `exited with ${signal ?? code}`;
      resolve({ error: `${reason}: ${lastLines(stderr)}` });
    });
  });
}

function lastLines(text) {
  return text.trim().split('\n').slice(-6).join(' | ');
}
