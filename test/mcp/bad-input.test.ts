import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { allTools } from '../../src/mcp/tools/index.js';
import { PREDICTION_LOG_TABLES, call, connect, dumpTables, errorCode, fixture, ok, registerDemoVersions, testApp, text } from '../helpers.js';

let app: AppContext;
let work: string;
let client: Client;

beforeAll(async () => {
  ({ app, work } = await testApp());
  client = await connect(app);
  await registerDemoVersions(client);
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
  fs.writeFileSync(path.join(work, 'not-a-model.onnx'), 'this is not protobuf at all');
  fs.writeFileSync(path.join(work, 'truncated.onnx'), fs.readFileSync(fixture('nba_points_v2.onnx')).subarray(0, 5000));
  fs.writeFileSync(path.join(work, 'empty.onnx'), '');
});
afterAll(async () => {
  await client.close();
  await app.close();
});

/** An object of `n` keys k0…k(n-1), each set to `value`. */
const manyKeys = <T>(n: number, value: T): Record<string, T> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));

/** [tool, arguments, expected code or 'validation' for the SDK's own schema check, text the message must contain] */
const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
  // wrong types and missing fields, refused by the SDK against the input schema
  ['health_check', { component: 'flux_capacitor' }, 'validation', /component/],
  ['register_model', { name: 'nba_points' }, 'invalid_argument', /exactly one of artifact_path .* and mlflow_model_uri/],
  ['register_model', { name: 'nba_points', mlflow_model_uri: 'models:/x/1' }, 'failed_precondition', /MLFLOW_TRACKING_URI/],
  ['register_model', { name: 42, artifact_path: 'x' }, 'validation', /name/],
  ['register_model', { name: '../etc', artifact_path: 'x' }, 'validation', /name/],
  ['register_model', { name: 'ok', artifact_path: 'x', metrics: { rmse: 'low' } }, 'validation', /metrics/],
  ['register_model', { name: 'ok', artifact_path: 'x', tags: manyKeys(101, 't') }, 'validation', /at most 100 tags/],
  ['list_models', { limit: 0 }, 'validation', /limit/],
  ['list_models', { stage: 'prod' }, 'validation', /stage/],
  ['get_model', { name: 'nba_points', stage: 'gold' }, 'validation', /stage/],
  ['get_model_history', {}, 'validation', /name/],
  ['promote_model', { name: 'nba_points', version: 'v2', target_stage: 'archived' }, 'validation', /target_stage/],
  ['promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', dry_run: 'yes' }, 'validation', /dry_run/],
  ['rollback_model', { name: ['nba_points'] }, 'validation', /name/],
  ['archive_model', { name: 'nba_points', version: 'v1', force: 1 }, 'validation', /force/],
  ['get_alerts', { hours: -5 }, 'validation', /hours/],
  // domain errors: unknown things, bad files, broken rules
  ['get_model', { name: 'no_such_model' }, 'not_found', /list_models/],
  ['get_model', { name: 'nba_points', version: 'v9' }, 'not_found', /versions: v1, v2/],
  ['get_model', { name: 'nba_points', stage: 'staging' }, 'not_found', /no version in stage "staging"/],
  ['get_model', { name: 'nba_points', version: 'v1', stage: 'production' }, 'invalid_argument', /not both/],
  ['get_model_history', { name: 'no_such_model' }, 'not_found', /register_model/],
  ['promote_model', { name: 'no_such_model', version: 'v1', target_stage: 'staging' }, 'not_found', /list_models/],
  ['promote_model', { name: 'nba_points', version: 'v7', target_stage: 'staging' }, 'not_found', /versions: v1, v2/],
  ['promote_model', { name: 'nba_points', version: 'v1', target_stage: 'staging' }, 'failed_precondition', /rollback_model/],
  ['rollback_model', { name: 'nba_points' }, 'failed_precondition', /to_version/],
  ['rollback_model', { name: 'nba_win_predictor' }, 'failed_precondition', /no production version/],
  ['rollback_model', { name: 'nba_points', to_version: 'v1' }, 'failed_precondition', /already the production/],
  ['archive_model', { name: 'nba_points', version: 'v1' }, 'failed_precondition', /force: true/],
  ['archive_model', { name: 'nba_points', version: 'nope' }, 'not_found', /versions/],
  ['register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v2.onnx'), version: 'v1' }, 'already_exists', /already has a version "v1"/],
  ['register_model', { name: 'x', artifact_path: '/etc/passwd' }, 'path_not_allowed', /MLOPS_MCP_ALLOWED_DIRS/],
  ['register_model', { name: 'x', artifact_path: fixture('../package.json') }, 'path_not_allowed', /outside the allowed directories/],
  ['register_model', { name: 'x', artifact_path: fixture('missing.onnx') }, 'file_not_found', /does not exist/],
  ['register_model', { name: 'x', artifact_path: fixture('nba_points_reference.csv') }, 'invalid_model', /not a usable ONNX model/],
  ['register_model', { name: 'x', artifact_path: '@work/not-a-model.onnx' }, 'invalid_model', /Export the model to ONNX/],
  ['register_model', { name: 'x', artifact_path: '@work/truncated.onnx' }, 'invalid_model', /not a usable ONNX model/],
  ['register_model', { name: 'x', artifact_path: '@work/empty.onnx' }, 'invalid_model', /not a usable ONNX model/],
  ['register_model', { name: 'x', artifact_path: fixture('nba_points_v1.onnx'), feature_names: ['a', 'b'] }, 'invalid_argument', /takes 10 features/],
  ['list_models', { cursor: 'eyJ4IjoxfQ' }, 'invalid_argument', /cursor/],
  // serving
  ['predict', { name: 'nba_points', features: 'all of them' }, 'invalid_argument', /features is a string that is not JSON/],
  [
    'predict',
    { name: 'nba_points', features: '{"is_home": "1"}' },
    'invalid_argument',
    /features is JSON text of an object that is not a row of numbers .* at is_home/,
  ],
  ['predict', { name: 'nba_points', features: 'null' }, 'invalid_argument', /JSON text of null/],
  ['predict', { name: 'nba_points', features: '[1, 2, 3]' }, 'invalid_argument', /expected 10 feature values/],
  ['predict', { name: 'nba_points', features: 'x'.repeat(4_000_001) }, 'validation', /features/],
  ['predict', { name: 'nba_points', features: { is_home: '1' } }, 'validation', /features/],
  ['predict', { name: 'nba_points', features: [1, 2, 3] }, 'invalid_argument', /expected 10 feature values/],
  ['predict', { name: 'nba_points', features: manyKeys(10_001, 0) }, 'validation', /at most 10000 features/],
  ['predict', { name: 'nba_points', features: { is_home: 1 } }, 'invalid_argument', /missing features days_rest/],
  // finite, but beyond the float32 the model takes (it became Infinity, and the answer NaN)
  [
    'predict',
    { name: 'nba_points', features: [1, 1, 1e39, 1, 1, 1, 1, 1, 1, 1] },
    'invalid_argument',
    /feature "season_avg_points" is 1e\+39, beyond the float32 range of the model's input/,
  ],
  // float32, but the model's sum overflows it
  [
    'predict',
    { name: 'nba_points', features: Array(10).fill(3e38) },
    'invalid_argument',
    /nba_points v1: the model answered (NaN|-?Infinity) \(no number\).*check their scale/,
  ],
  ['batch_predict', { name: 'nba_points', rows: [Array(10).fill(1), Array(10).fill(3e38)] }, 'invalid_argument', /row 1: nba_points v1: the model answered/],
  [
    'batch_predict',
    { name: 'nba_points', rows: [Array(10).fill(1), Array(10).fill(-1e300)] },
    'invalid_argument',
    /row 1: nba_points v1: feature "is_home" is -1e\+300, beyond the float32 range/,
  ],
  ['predict', { name: 'no_such_model', features: [1] }, 'not_found', /list_models/],
  ['predict', { name: 'nba_win_predictor', features: [1, 2, 3, 4, 5, 6, 7, 8] }, 'failed_precondition', /no production version/],
  ['batch_predict', { name: 'nba_points', rows: [] }, 'validation', /rows/],
  ['batch_predict', { name: 'nba_points', rows: Array.from({ length: 10_001 }, () => [0]) }, 'validation', /rows/],
  ['batch_predict', { name: 'nba_points', rows: [[1, 2]], version: 'v9' }, 'not_found', /versions: v1, v2/],
  ['deploy_model', { name: 'nba_points', version: 'v9' }, 'not_found', /versions/],
  ['undeploy_model', { name: 'nba_points', version: 'v1' }, 'failed_precondition', /100% of the traffic/],
  ['configure_ab_test', { name: 'nba_points', weights: { v1: 0.5, v2: 0.6 } }, 'invalid_argument', /sum to 1.1/],
  ['configure_ab_test', { name: 'nba_points', weights: { v1: -1, v2: 2 } }, 'validation', /weights/],
  ['configure_ab_test', { name: 'nba_points', weights: { v1: 1 }, routing: 'round-robin' }, 'validation', /routing/],
  ['configure_ab_test', { name: 'nba_points', weights: manyKeys(101, 0.01) }, 'validation', /at most 100 versions/],
  ['get_traffic_config', { name: 'no_such_model' }, 'not_found', /list_models/],
  ['get_system_stats', { verbose: true }, 'validation', /verbose/],
  ['promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', dryrun: true }, 'validation', /dryrun/],
  ['sync_mlflow', {}, 'failed_precondition', /MLFLOW_TRACKING_URI/],
  // drift
  ['set_drift_reference', { name: 'nba_points', rows: 'lots' }, 'validation', /rows/],
  ['set_drift_reference', { name: 'nba_points', rows: Array.from({ length: 100_001 }, () => [1]) }, 'validation', /rows/],
  ['detect_drift', { name: 'nba_points', current_rows: Array.from({ length: 100_001 }, () => [1]) }, 'validation', /current_rows/],
  ['set_drift_reference', { name: 'nba_points', csv_path: '/etc/passwd' }, 'path_not_allowed', /MLOPS_MCP_ALLOWED_DIRS/],
  [
    'set_drift_reference',
    { name: 'nba_points', rows: [Array(10).fill(1.7e308), Array(10).fill(1.7e308), Array(10).fill(1)] },
    'invalid_argument',
    /feature "is_home" has values too large to summarise/,
  ],
  ['detect_drift', { name: 'nba_points', csv_path: fixture('nba_points_current.csv') }, 'not_found', /set_drift_reference/],
  ['detect_drift', { name: 'nba_points', correction: 'holm' }, 'validation', /correction/],
  ['get_drift_report', { name: 'nba_points' }, 'not_found', /detect_drift/],
  ['get_drift_curves', { name: 'nba_points' }, 'validation', /feature/],
  ['get_drift_curves', { name: 'nba_points', feature: 'days_rest' }, 'not_found', /detect_drift/],
  // outcomes
  ['record_outcomes', { name: 'no_such_model', outcomes: [{ prediction_id: 'x', actual: 1 }] }, 'not_found', /list_models/],
  [
    'record_outcomes',
    { name: 'nba_points', outcomes: [{ prediction_id: 'x', actual: 'many' }] },
    'invalid_argument',
    /actual "many" is not a finite number, and nba_points is a regressor.*Nothing was recorded/,
  ],
  [
    'record_outcomes',
    { name: 'nba_points', outcomes: [{ prediction_id: 'x', actual: 'NaN' }] },
    'invalid_argument',
    /outcomes\[0\]: actual "NaN" is not a finite number/,
  ],
  [
    'record_outcomes',
    { name: 'nba_win_predictor', outcomes: [{ prediction_id: 'x', actual: 'maybe' }] },
    'invalid_argument',
    /actual "maybe" is not a class of nba_win_predictor \(0, 1\)/,
  ],
  ['record_outcomes', { name: 'nba_points', outcomes: [] }, 'validation', /outcomes/],
  ['record_outcomes', { name: 'nba_points', outcomes: Array.from({ length: 10_001 }, () => ({ prediction_id: 'x', actual: 1 })) }, 'validation', /outcomes/],
  ['record_outcomes', { name: 'nba_points', outcomes: [{ prediction_id: 'x', actual: null }] }, 'validation', /actual/],
  ['record_outcomes', { name: 'nba_points', outcomes: [{ prediction_id: 'x', actual: 1, extra: 2 }] }, 'validation', /extra/],
  ['record_outcomes', { name: 'nba_points' }, 'invalid_argument', /either outcomes .* or csv_path/],
  ['record_outcomes', { name: 'nba_points', csv_path: '/etc/passwd' }, 'path_not_allowed', /MLOPS_MCP_ALLOWED_DIRS/],
  ['record_outcomes', { name: 'nba_points', csv_path: '@work/missing.csv' }, 'file_not_found', /missing.csv/],
  ['record_outcomes', { name: 'nba_points', csv_path: fixture('nba_points_current.csv') }, 'invalid_argument', /needs the columns prediction_id and actual/],
  ['get_model_performance', { name: 'no_such_model' }, 'not_found', /list_models/],
  ['get_model_performance', { name: 'nba_points', version: 'v9' }, 'not_found', /no version "v9"/],
  ['get_model_performance', { name: 'nba_points', window: { last_n: 0 } }, 'validation', /last_n/],
  ['get_model_performance', { name: 'nba_points', window: { since: 'yesterday' } }, 'validation', /since/],
  [
    'get_model_performance',
    { name: 'nba_points', window: { since: '2026-11-24T00:00:00Z', until: '2026-11-23T00:00:00Z' } },
    'invalid_argument',
    /must be before its until/,
  ],
  ['get_model_performance', { name: 'nba_points', alpha: 0.7 }, 'validation', /alpha/],
];

describe('bad input: a clear isError answer and an unchanged database', () => {
  it.each(cases)('%s %j → %s', async (tool, rawArgs, code, message) => {
    const args = JSON.parse(JSON.stringify(rawArgs).replaceAll('@work', work)) as Record<string, unknown>;
    // Failed predictions of earlier cases are logged by design, on a timer: write them first.
    await app.predictionLog.flush();
    // A failed prediction of an existing model is itself logged by design (and flushed on a timer).
    const exclude = tool === 'predict' || tool === 'batch_predict' ? PREDICTION_LOG_TABLES : [];
    const before = dumpTables(app.config.dbPath, exclude);
    const artifactsBefore = fs.readdirSync(app.config.artifactsDir, { recursive: true }).sort();
    const r = await call(client, tool, args);
    expect(r.isError, text(r)).toBe(true);
    expect(text(r)).toMatch(message);
    expect(text(r)).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/); // no stack trace
    // Arguments that fail the input schema read like every other error: `<code>: what to do`.
    if (code === 'validation') {
      expect(errorCode(r)).toBe('invalid_argument');
      expect(text(r)).toMatch(
        new RegExp(`^invalid_argument: ${tool} arguments: .+ Correct them and call again \\(tools/list shows ${tool}'s input schema\\)\\.`, 's'),
      );
      expect(text(r)).not.toMatch(/MCP error|-32602|Input validation error/);
    } else {
      expect(errorCode(r)).toBe(code);
      expect(text(r).startsWith(`${code}: `)).toBe(true);
    }
    expect(dumpTables(app.config.dbPath, exclude)).toEqual(before);
    expect(fs.readdirSync(app.config.artifactsDir, { recursive: true }).sort()).toEqual(artifactsBefore);
  });

  it('covers every tool', () => {
    const swept = new Set(cases.map(([tool]) => tool));
    expect(allTools.map((t) => t.name).filter((n) => !swept.has(n))).toEqual([]);
  });

  it('never echoes the contents of a file it refused', async () => {
    const secret = path.join(work, 'secret.onnx');
    fs.writeFileSync(secret, 'password=hunter2 this is not a model');
    const r = await call(client, 'register_model', { name: 'x', artifact_path: secret });
    expect(r.isError).toBe(true);
    expect(text(r)).not.toContain('hunter2');
  });
});
