import { InvalidOptionError } from '../errors.js';
import type { LogicalDate } from './dates.js';

/**
 * Placeholders of a path template, each replaced by a part of the logical date. The
 * names follow Airflow's template variables where Airflow has one (`ds`, `ds_nodash`).
 */
export const DATE_PLACEHOLDERS = ['ds', 'ds_nodash', 'yyyy', 'mm', 'dd'] as const;

/** A placeholder of a path template. */
export type DatePlaceholder = (typeof DATE_PLACEHOLDERS)[number];

// A word in braces is a placeholder. Braces holding a comma, such as `*.{csv,jsonl}`, are
// left for the glob, which reads them as alternatives.
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Checks the placeholders of a path template, raising `ERR_INVALID_OPTION` for one that
 * is not in {@link DATE_PLACEHOLDERS}. Returns the placeholders it uses.
 */
export function checkTemplate(option: string, template: string): DatePlaceholder[] {
  const used: DatePlaceholder[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] as string;
    if (!(DATE_PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new InvalidOptionError(
        `Unknown placeholder {${name}} in \`${option}\` ${JSON.stringify(template)}`,
        { fix: `Use one of ${DATE_PLACEHOLDERS.map((known) => `{${known}}`).join(', ')}` },
      );
    }
    used.push(name as DatePlaceholder);
  }
  return used;
}

/** Replaces the placeholders of a checked template with the parts of `date`. */
export function renderTemplate(template: string, date: LogicalDate): string {
  const values = placeholderValues(date);
  return template.replace(PLACEHOLDER, (_text, name: string) => values[name as DatePlaceholder]);
}

/** Returns what each placeholder becomes for `date`. */
export function placeholderValues(date: LogicalDate): Record<DatePlaceholder, string> {
  const [yyyy, mm, dd] = date.split('-') as [string, string, string];
  return { ds: date, ds_nodash: `${yyyy}${mm}${dd}`, yyyy, mm, dd };
}
