import { InvalidOptionError } from './errors.js';

/** Checks that `value` is an integer of at least `minimum`, or undefined. */
export function checkInteger(name: string, value: unknown, minimum: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
    throw new InvalidOptionError(
      `Expected \`${name}\` to be an integer >= ${minimum}, got ${describe(value)}`,
    );
  }
}

/** Checks that `value` is one of `allowed`, or undefined. */
export function checkOneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new InvalidOptionError(
      `Expected \`${name}\` to be one of ${allowed.join(', ')}, got ${describe(value)}`,
    );
  }
}

/** Checks that `value` is a non-empty string, or undefined when `optional`. */
export function checkString(name: string, value: unknown, optional = true): void {
  if (value === undefined && optional) return;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(`Expected \`${name}\` to be a non-empty string, got ${describe(value)}`);
  }
}

/** Describes a value and its type for an error message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `${JSON.stringify(value) ?? String(value)} (${typeof value})`;
}
