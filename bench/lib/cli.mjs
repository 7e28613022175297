/**
 * Runs the batchscore CLI in a child process and measures its peak RSS. The worker
 * threads live in the same process, so one figure covers the whole run.
 */
import { spawn } from 'node:child_process';
import { access, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killTree, track } from './child.mjs';

const GNU_TIME = '/usr/bin/time';
const POLL_MS = 20;

/**
 * Runs `node <cli> score <args>` and resolves with the run's summary figures and its peak
 * RSS, read by GNU time (`-v`) when it is installed, else by polling `VmHWM` in
 * `/proc/<pid>/status`, which only catches the peak up to the last poll before exit.
 */
export async function runCliWithPeakRss(cli, args, { timeoutMs, output }) {
  await rm(output, { recursive: true, force: true });
  const useTime = await exists(GNU_TIME);
  const timeFile = join(tmpdir(), `batchscore-bench-time-${process.pid}.txt`);
  const command = [process.execPath, cli, 'score', ...args, '--output', output, '--quiet'];
  const spawned = track(useTime
    ? spawn(GNU_TIME, ['-v', '-o', timeFile, ...command], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));

  let peakKiB = 0;
  let cpuSeconds;
  const poll = useTime ? undefined : setInterval(() => {
    readVmHwm(spawned.pid).then((kib) => (peakKiB = Math.max(peakKiB, kib)), () => {});
  }, POLL_MS);
  const { code, stdout, stderr, timedOut } = await collect(spawned, timeoutMs);
  clearInterval(poll);
  await rm(output, { recursive: true, force: true });

  if (code !== 0) {
    const reason = timedOut ? `timed out after ${timeoutMs / 1000} s` : `exited with ${code}`;
    return { error: `${reason}: ${stderr.trim().split('\n').slice(-4).join(' | ')}` };
  }
  if (useTime) {
    const report = await readFile(timeFile, 'utf8');
    await rm(timeFile, { force: true });
    peakKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1] ?? NaN);
    const seconds = (label) => {
      const match = new RegExp(`${label} time \\(seconds\\): ([\\d.]+)`).exec(report);
      return Number(match?.[1]);
    };
    cpuSeconds = seconds('User') + seconds('System');
  }
  const summary = JSON.parse(stdout);
  return {
    rows: summary.rowsIn,
    durationMs: summary.durationMs,
    rowsPerSecond: summary.rowsPerSecond,
    partitions: summary.partitions,
    timings: summary.timings,
    peakRssMiB: peakKiB / 1024,
    cpuSeconds,
    processCpuSeconds: cpuSeconds,
    rssSource: useTime ? 'GNU time -v' : '/proc VmHWM polling',
  };
}

function collect(child, timeoutMs) {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text) => (stderr = (stderr + text).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child);
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

async function readVmHwm(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
}

async function exists(path) {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
