import { createRequire } from 'node:module';

/** Version of this package, as written in output metadata. */
export const VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;
