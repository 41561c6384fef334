import type { z } from 'zod';

/** How many problems an error names (10 000 bad rows would make a 600 kB message). */
const SHOWN_ISSUES = 5;

/**
 * zod's problems with `input`, as one line a caller can act on: each at its path
 * (`rows.3: "minutes_avg": expected number, received string`), a value left out called
 * "required", the first few of them. Used for tool arguments (MCP) and request bodies (REST) alike.
 */
export function issuesText(issues: readonly z.core.$ZodIssue[], input: unknown): string {
  const texts = issues.slice(0, SHOWN_ISSUES).map((i) => {
    const at = i.path.map(String).join('.');
    const problem = i.message.replace(/^Invalid input: /, '');
    const missing = i.code !== 'unrecognized_keys' && i.path.length > 0 && !problem.startsWith('required') && valueAt(input, i.path) === undefined;
    return `${at ? `${at}: ` : ''}${missing ? `required (${problem.replace(/, received undefined$/, '')})` : problem}`;
  });
  return `${texts.join('; ')}${issues.length > SHOWN_ISSUES ? `; and ${issues.length - SHOWN_ISSUES} more` : ''}`;
}

/** The value at `path` inside `input` (own properties only), or undefined. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = input;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || typeof key === 'symbol' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}
