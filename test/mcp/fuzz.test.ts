import { fc } from '@fast-check/vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { allTools } from '../../src/mcp/tools/index.js';
import { PREDICTION_LOG_TABLES, connect, dumpDigest, errorCode, fixture, ok, registerDemoVersions, testApp, text, type ToolResult } from '../helpers.js';
import { hostileKey, hostileValue } from '../hostile-values.js';

/** Runs per tool in npm test; FUZZ_RUNS raises it for a longer sweep. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 25);

let app: AppContext;
let home: string;
let client: Client;
let calls = 0;
let answeredOk = 0;

beforeAll(async () => {
  // Serving's alerts (raised by a timer when many calls fail, as here) would change the alerts
  // table during a call: not what this test is about.
  ({ app, home } = await testApp({ ALERT_MIN_REQUESTS: '1000000000' }));
  client = await connect(app, { clientName: 'fuzzer' });
  await registerDemoVersions(client);
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
  await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
});
afterAll(async () => {
  console.info(`[fuzz] ${calls} tool calls with generated arguments, ${answeredOk} answered without error`);
  await client.close();
  await app.close();
});

function argsFor(tool: (typeof allTools)[number]) {
  const keys = Object.keys(tool.input);
  return fc.dictionary(
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(keys.length ? keys : ['x'])) }, { weight: 1, arbitrary: hostileKey }),
    hostileValue,
    { maxKeys: keys.length + 2 },
  );
}

/**
 * The tool's own example (valid, naming the demo's models) with one thing wrong: a field
 * replaced by a hostile value, a field dropped, or a hostile key added. Calls like these get
 * past the schema more often than wholly generated ones, so they reach the handlers.
 */
function corruptedExample(tool: (typeof allTools)[number]) {
  const keys = Object.keys(tool.input);
  return fc
    .record({
      field: fc.constantFrom(...(keys.length ? keys : ['x'])),
      how: fc.constantFrom('replace', 'replace', 'drop', 'add'),
      value: hostileValue,
      key: hostileKey,
    })
    .map(({ field, how, value, key }) => {
      const args: Record<string, unknown> = structuredClone(tool.example);
      if (how === 'replace') args[field] = value;
      else if (how === 'drop') delete args[field];
      // An own property even for "__proto__" (assignment would set the prototype instead).
      else Object.defineProperty(args, key, { value, enumerable: true, configurable: true, writable: true });
      return args;
    });
}

const serverPaths = () => [packageRoot, home, app.config.dbPath, app.config.artifactsDir];

describe('generated and hostile arguments against every tool', () => {
  it.each(allTools.map((t) => [t.name, t] as const))(
    '%s answers every call with a result, and a failed call changes nothing',
    { timeout: 180_000 },
    async (_name, tool) => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(argsFor(tool), corruptedExample(tool)), async (args) => {
          // Predictions (failed ones too) are logged by design, flushed on a timer whenever one is due
          // (the writer's progress row changes with each flush): the log's tables are left out.
          const before = dumpDigest(app.config.dbPath, PREDICTION_LOG_TABLES);
          calls++;
          const r = (await client.callTool({ name: tool.name, arguments: args })) as ToolResult;
          expect(Array.isArray(r.content)).toBe(true);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined(); // no prototype pollution
          if (!r.isError) {
            answeredOk++;
            return;
          }
          const message = text(r);
          expect(errorCode(r), message).toBeTruthy();
          expect(message).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
          for (const p of serverPaths()) expect(message.includes(p), `leaks ${p}: ${message.slice(0, 200)}`).toBe(false);
          expect(message.length).toBeLessThan(25_000);
          expect(dumpDigest(app.config.dbPath, PREDICTION_LOG_TABLES)).toBe(before);
        }),
        { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261123), endOnFailure: true },
      );
      // The server still answers normally afterwards.
      expect((await ok<{ status: string }>(client, 'health_check', { component: 'database' })).status).toBe('healthy');
    },
  );
});
