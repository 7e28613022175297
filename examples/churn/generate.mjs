#!/usr/bin/env node
// Generates synthetic telecom customers for the churn example and benchmarks.
//
//   node examples/churn/generate.mjs --rows 100000 --seed 42 \
//     --out examples/churn/data/customers.csv
//
// The same --rows, --seed and --format always give a byte-identical file.
// Every value comes from integer operations, Math.imul, Math.floor, Math.round
// and IEEE-754 double arithmetic, which ECMAScript defines exactly, so no value
// depends on the platform or on how an engine approximates Math.exp. Output is
// streamed, so memory use does not grow with the row count.

import { createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Column names, in file order. */
export const COLUMNS = [
  'customer_id',
  'age',
  'tenure_months',
  'monthly_charges',
  'total_charges',
  'contract',
  'payment_method',
  'support_calls',
  'has_fiber',
  'region',
  'churned',
];

const CONTRACTS = ['month-to-month', 'one-year', 'two-year'];
const PAYMENT_METHODS = [
  'electronic check',
  'mailed check',
  'bank transfer',
  'credit card',
];
const PAYMENT_WEIGHTS = [0.34, 0.22, 0.22, 0.22];
const REGIONS = ['north', 'south', 'east', 'west', 'central'];
const REGION_WEIGHTS = [0.22, 0.24, 0.2, 0.18, 0.16];

/** Rows per string written to the output stream. */
const ROWS_PER_CHUNK = 2048;

/** Murmur3's 32-bit finalizer, which spreads each input bit over the output. */
function mix32(x) {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Creates a seeded random number generator returning doubles in [0, 1).
 * It is Marsaglia's xorshift128 generator, with its 128-bit state derived from
 * the seed by mix32.
 * @param {number} seed a non-negative safe integer
 * @returns {() => number}
 */
export function createRandom(seed) {
  const low = seed % 2 ** 32;
  const high = Math.floor(seed / 2 ** 32);
  let s0 = mix32(low ^ 0x9e3779b9);
  let s1 = mix32(high ^ 0x7f4a7c15);
  let s2 = mix32(s0 ^ 0x85a308d3);
  // An all-zero state would stay zero forever, and the low bit rules it out.
  let s3 = mix32(s1 ^ 0x2b7e1516) | 1;

  return function next() {
    const t = s0 ^ (s0 << 11);
    s0 = s1;
    s1 = s2;
    s2 = s3;
    s3 = (s3 ^ (s3 >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return s3 / 2 ** 32;
  };
}

/**
 * Computes e^x from a degree-7 Taylor polynomial after reducing x by multiples
 * of ln 2. Its relative difference from Math.exp is below 1e-8 for |x| <= 40,
 * and unlike Math.exp, whose accuracy ECMAScript leaves to the engine, its
 * result is the same everywhere.
 */
function portableExp(x) {
  const k = Math.round(x / Math.LN2);
  const r = x - k * Math.LN2;
  // Horner form of the sum of r^n / n! for n = 0..7.
  let result = 1;
  for (let n = 7; n >= 1; n--) result = 1 + (r / n) * result;
  // Repeated doubling is exact, so the result does not depend on how an engine
  // computes 2 ** k.
  for (let i = 0; i < k; i++) result *= 2;
  for (let i = 0; i > k; i--) result /= 2;
  return result;
}

function logistic(z) {
  return 1 / (1 + portableExp(-Math.min(40, Math.max(-40, z))));
}

/** Draws an approximately standard normal value from four uniform draws. */
function standardNormal(random) {
  return (random() + random() + random() + random() - 2) * 1.7320508075688772;
}

function pickWeighted(random, values, weights) {
  let u = random();
  for (let i = 0; i < values.length - 1; i++) {
    if (u < weights[i]) return values[i];
    u -= weights[i];
  }
  return values[values.length - 1];
}

/** Formats a non-negative whole number of cents with two decimal places. */
function formatCents(cents) {
  const fraction = cents % 100;
  return `${(cents - fraction) / 100}.${fraction < 10 ? '0' : ''}${fraction}`;
}

function clamp(value, min, max) {
  return Math.min(max, Math.max(min, value));
}

function drawTenure(random) {
  // About 2 % have not completed a billing cycle, so their total is blank.
  if (random() < 0.02) return 0;
  if (random() < 0.35) return 1 + Math.floor(random() * 12);
  return 1 + Math.floor(random() * 72);
}

function drawContract(random, tenureMonths) {
  const share = tenureMonths / 72;
  const u = random();
  if (u < 0.05 + 0.45 * share) return CONTRACTS[2];
  if (u < 0.2 + 0.6 * share) return CONTRACTS[1];
  return CONTRACTS[0];
}

function drawSupportCalls(random, hasFiber) {
  // A geometric count, capped so that a long run of draws adds no outliers.
  const p = hasFiber ? 0.58 : 0.48;
  let calls = 0;
  while (calls < 12 && random() < p) calls++;
  return calls;
}

/**
 * Computes the log-odds of churning. The label is a random draw with this
 * probability, so a model can learn it, but not exactly.
 */
function churnLogit(customer, monthlyCharges) {
  let z = -1.6;
  if (customer.contract === CONTRACTS[0]) z += 1.1;
  else if (customer.contract === CONTRACTS[1]) z -= 0.4;
  else z -= 1.4;
  z -= 0.035 * customer.tenure_months;
  z += 0.012 * (monthlyCharges - 65);
  z += 0.3 * customer.support_calls;
  if (customer.payment_method === PAYMENT_METHODS[0]) z += 0.45;
  if (customer.has_fiber === 'yes') z += 0.35;
  z -= 0.012 * (customer.age - 45);
  if (customer.region === 'south') z += 0.15;
  else if (customer.region === 'west') z -= 0.1;
  return z;
}

/**
 * Draws one customer. `monthly_charges` and `total_charges` are strings with
 * two decimals, and `total_charges` is null for a customer with no completed
 * billing cycle.
 */
function drawCustomer(random, index) {
  const age = clamp(Math.round(44 + 14 * standardNormal(random)), 18, 85);
  const tenureMonths = drawTenure(random);
  const hasFiber = random() < 0.45;

  // Charges are drawn in whole cents, so formatting them adds no rounding.
  const base = hasFiber ? 70 + 35 * random() : 20 + 45 * random();
  const monthly = base + 3 * standardNormal(random);
  const monthlyCents = Math.max(1825, Math.round(monthly * 100));
  const billingNoise = 0.97 + 0.06 * random();
  const totalCents = Math.round(monthlyCents * tenureMonths * billingNoise);

  const customer = {
    customer_id: 'C' + String(index + 1).padStart(7, '0'),
    age,
    tenure_months: tenureMonths,
    monthly_charges: formatCents(monthlyCents),
    total_charges: tenureMonths === 0 ? null : formatCents(totalCents),
    contract: drawContract(random, tenureMonths),
    payment_method: pickWeighted(random, PAYMENT_METHODS, PAYMENT_WEIGHTS),
    support_calls: drawSupportCalls(random, hasFiber),
    has_fiber: hasFiber ? 'yes' : 'no',
    region: pickWeighted(random, REGIONS, REGION_WEIGHTS),
    churned: 0,
  };
  const churnProbability = logistic(churnLogit(customer, monthlyCents / 100));
  customer.churned = random() < churnProbability ? 1 : 0;
  return customer;
}

/**
 * Yields `rows` synthetic customers in order. The same seed always yields the
 * same customers.
 * @param {{ rows: number, seed: number }} options
 */
export function* generateCustomers({ rows, seed }) {
  const random = createRandom(seed);
  for (let index = 0; index < rows; index++) yield drawCustomer(random, index);
}

/** Formats one customer as a CSV line. No value contains a comma or a quote. */
export function formatCsvLine(customer) {
  const c = customer;
  return (
    `${c.customer_id},${c.age},${c.tenure_months},${c.monthly_charges},` +
    `${c.total_charges ?? ''},${c.contract},${c.payment_method},` +
    `${c.support_calls},${c.has_fiber},${c.region},${c.churned}\n`
  );
}

/** Formats one customer as a JSON Lines record, with null for a blank total. */
export function formatJsonLine(customer) {
  const c = customer;
  return (
    `{"customer_id":"${c.customer_id}","age":${c.age},` +
    `"tenure_months":${c.tenure_months},` +
    `"monthly_charges":${c.monthly_charges},` +
    `"total_charges":${c.total_charges ?? 'null'},` +
    `"contract":"${c.contract}","payment_method":"${c.payment_method}",` +
    `"support_calls":${c.support_calls},"has_fiber":"${c.has_fiber}",` +
    `"region":"${c.region}","churned":${c.churned}}\n`
  );
}

/**
 * Yields the output as strings of ROWS_PER_CHUNK rows each: CSV lines after a
 * header, or JSON Lines.
 * @param {{ rows: number, seed: number, format: 'csv' | 'jsonl' }} options
 */
export function* generateChunks({ rows, seed, format }) {
  const formatLine = format === 'jsonl' ? formatJsonLine : formatCsvLine;
  const random = createRandom(seed);
  let chunk = format === 'csv' ? COLUMNS.join(',') + '\n' : '';

  for (let index = 0; index < rows; index++) {
    chunk += formatLine(drawCustomer(random, index));
    if ((index + 1) % ROWS_PER_CHUNK !== 0) continue;
    yield chunk;
    chunk = '';
  }
  if (chunk !== '') yield chunk;
}

/**
 * Writes the output to a stream, waiting whenever the stream's buffer is full.
 * Ends the stream when done.
 * @param {import('node:stream').Writable} stream
 * @param {{ rows: number, seed: number, format: 'csv' | 'jsonl' }} options
 */
export function writeCustomers(stream, options) {
  return pipeline(Readable.from(generateChunks(options)), stream);
}

const USAGE = `Usage: node examples/churn/generate.mjs [options]

Writes synthetic customer records with a churn label.

Options:
  --rows N         number of customers to write (default 1000)
  --seed N         random seed, a non-negative integer (default 42)
  --out PATH       output file, or - for stdout (default -); missing parent
                   folders are created
  --format FORMAT  csv or jsonl (default jsonl when PATH ends in .jsonl,
                   else csv)
  --quiet          do not print the summary line to stderr
  --help           print this help
`;

class UsageError extends Error {}

function parseNonNegativeInteger(option, text) {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(
      `invalid --${option} '${text}': expected a non-negative integer`,
    );
  }
  return Number(text);
}

function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        rows: { type: 'string', default: '1000' },
        seed: { type: 'string', default: '42' },
        out: { type: 'string', default: '-' },
        format: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    throw new UsageError(error.message);
  }

  const out = parsed.out;
  const format = parsed.format ?? (out.endsWith('.jsonl') ? 'jsonl' : 'csv');
  if (format !== 'csv' && format !== 'jsonl') {
    throw new UsageError(`invalid --format '${format}': expected csv or jsonl`);
  }
  return {
    rows: parseNonNegativeInteger('rows', parsed.rows),
    seed: parseNonNegativeInteger('seed', parsed.seed),
    out,
    format,
    quiet: parsed.quiet,
    help: parsed.help,
  };
}

/** Returns true when nothing exists at `path` or it is a regular file. */
async function isRegularFileOrMissing(path) {
  try {
    return (await lstat(path)).isFile();
  } catch (error) {
    if (error.code === 'ENOENT') return true;
    throw error;
  }
}

/**
 * Writes to a temporary file, then renames it, so a failed run leaves no
 * partial output file. Devices such as /dev/null, pipes and symbolic links are
 * written in place, because renaming over them would replace them.
 */
async function writeFile(path, options) {
  await mkdir(dirname(resolve(path)), { recursive: true });
  if (!(await isRegularFileOrMissing(path))) {
    const stream = createWriteStream(path);
    await writeCustomers(stream, options);
    return stream.bytesWritten;
  }

  const temporaryPath = `${path}.partial-${process.pid}`;
  try {
    const stream = createWriteStream(temporaryPath);
    await writeCustomers(stream, options);
    await rename(temporaryPath, path);
    return stream.bytesWritten;
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
}

/** Returns false when the reader closed the pipe early, as `head` does. */
async function writeStdout(options) {
  try {
    await writeCustomers(process.stdout, options);
    return true;
  } catch (error) {
    if (error.code === 'EPIPE') return false;
    throw error;
  }
}

function printSummary(options, seconds, bytes) {
  const rate = Math.round(options.rows / Math.max(seconds, 1e-9));
  const size = bytes === undefined ? '' : `, ${(bytes / 1e6).toFixed(1)} MB`;
  const target = options.out === '-' ? 'stdout' : options.out;
  process.stderr.write(
    `generate.mjs: wrote ${options.rows} rows (${options.format}${size}) ` +
      `to ${target} in ${seconds.toFixed(2)} s, ${rate} rows/s\n`,
  );
}

async function main(argv) {
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }

  const started = process.hrtime.bigint();
  let bytes;
  if (options.out === '-') {
    if (!(await writeStdout(options))) return;
  } else {
    bytes = await writeFile(options.out, options);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!options.quiet) printSummary(options, seconds, bytes);
}

const isMain =
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  main(process.argv.slice(2)).catch((error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`generate.mjs: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`generate.mjs: ${error.message}\n`);
    process.exit(1);
  });
}
