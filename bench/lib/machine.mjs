/** Describes the machine and the software versions that a run's figures depend on. */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

const PACKAGES = [
  'onnxruntime-node', 'parquet-wasm', 'apache-arrow', 'parquetjs-lite', 'piscina', 'tinybench',
];

/** Returns cores, memory, CPU model, kernel and the versions of Node and the packages. */
export async function describeMachine(root) {
  const versions = { node: process.versions.node };
  for (const name of PACKAGES) {
    const path = join(root, 'node_modules', name, 'package.json');
    versions[name] = JSON.parse(await readFile(path, 'utf8')).version;
  }
  versions.batchscore = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).version;
  return {
    cpuModel: await cpuModel(),
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    versions,
  };
}

/**
 * Returns the machine's busy and steal CPU seconds since boot, summed over all cores, from
 * the first line of /proc/stat, or undefined where it cannot be read. Steal is time that
 * the hypervisor gave to other virtual machines. The kernel counts in USER_HZ ticks,
 * which are 1/100 s on Linux for every common architecture.
 */
export function readCpuTimes() {
  let line;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  } catch {
    return undefined;
  }
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return { busy: (user + nice + system + irq + softirq) / 100, steal: steal / 100 };
}

/**
 * Returns the cores' worth of CPU time that other processes and other virtual machines
 * used while a case ran. `othersCores` is busy time not spent by the case's own
 * process, and `stealCores` is time taken by the hypervisor. Both are divided by the
 * case's wall time.
 */
export function contention(before, after, ownCpuSeconds, wallSeconds) {
  if (before === undefined || after === undefined || !(wallSeconds > 0)) return undefined;
  const others = Math.max(0, after.busy - before.busy - (ownCpuSeconds ?? 0));
  return {
    othersCores: others / wallSeconds,
    stealCores: (after.steal - before.steal) / wallSeconds,
  };
}

/** Load averages over 1, 5 and 15 minutes, rounded to two decimals. */
export function loadAverages() {
  return loadavg().map((value) => Math.round(value * 100) / 100);
}

async function cpuModel() {
  try {
    const info = await readFile('/proc/cpuinfo', 'utf8');
    return /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
