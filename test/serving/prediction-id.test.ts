import { describe, expect, it } from 'vitest';
import { newPredictionId, parsePredictionId } from '../../src/serving/prediction-id.js';
import { connect, ok, registerDemoVersions, testApp } from '../helpers.js';

describe('prediction ids', () => {
  it('are UUIDv7 carrying the millisecond they were logged at, batch rows as <batch id>:<row>', () => {
    const at = Date.parse('2026-11-23T10:11:12.345Z');
    const id = newPredictionId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parsePredictionId(id)).toEqual({ entryId: id, row: null, at });
    expect(parsePredictionId(`${id}:0`)).toEqual({ entryId: id, row: 0, at });
    expect(parsePredictionId(`${id}:9999`)).toEqual({ entryId: id, row: 9999, at });
    expect(new Set(Array.from({ length: 1000 }, () => newPredictionId(at))).size).toBe(1000);
  });

  it('refuse what this server did not issue', () => {
    const id = newPredictionId(Date.now());
    for (const bad of [
      '',
      'nope',
      '3b241101-e2bb-4255-8caf-4136c566a962',
      `${id}:`,
      `${id}:-1`,
      `${id}:01`,
      `${id}:1:2`,
      `${id}:1e3`,
      id.toUpperCase(),
      ` ${id}`,
    ]) {
      expect(parsePredictionId(bad), bad).toBeNull();
    }
  });

  it('are what predict and batch_predict answer, dated by the log entry', async () => {
    const { app } = await testApp();
    const client = await connect(app);
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
    const before = Date.now();
    const p = await ok<{ prediction_id: string }>(client, 'predict', { name: 'nba_points', features: [1, 2, 20, 6, 5, 22, 6, 5, 30, 112] });
    const b = await ok<{ batch_id: string }>(client, 'batch_predict', { name: 'nba_points', rows: [[1, 2, 20, 6, 5, 22, 6, 5, 30, 112]] });
    const after = Date.now();
    for (const id of [p.prediction_id, `${b.batch_id}:0`]) {
      const key = parsePredictionId(id)!;
      expect(key.at).toBeGreaterThanOrEqual(before);
      expect(key.at).toBeLessThanOrEqual(after);
    }
    await app.close();
  });
});
