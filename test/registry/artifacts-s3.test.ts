import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ArtifactDamagedError, ArtifactStore } from '../../src/registry/artifacts.js';
import type { ArtifactObjects } from '../../src/registry/ports.js';
import { openS3Objects } from '../../src/store/artifacts/s3.js';
import { call, connect, errorCode, fixture, ok, tempDir, testApp, text } from '../helpers.js';
import { describeS3, startS3Server, type S3Server } from '../s3/server.js';

const silent = pino({ level: 'silent' });

describeS3('artifacts in S3-compatible object storage, each server directory a verified cache', () => {
  let s3: S3Server;
  let objects: ArtifactObjects;
  const bytes = fs.readFileSync(fixture('nba_points_v1.onnx'));
  let sha = '';
  beforeAll(async () => {
    s3 = await startS3Server();
    await s3.createBucket('models');
    // The AWS SDK reads its endpoint and credentials from the environment, as a server would.
    Object.assign(process.env, s3.env('models'));
    objects = await openS3Objects('s3://models/team-a', silent);
  });
  afterAll(async () => {
    await s3?.stop();
  });

  const store = () => new ArtifactStore(path.join(tempDir(), 'artifacts'), { objects });

  it('stores a committed artifact in the bucket, and a server that never saw it fetches it, checks it and caches it', async () => {
    const a = store();
    const staged = await a.stage(fixture('nba_points_v1.onnx'));
    sha = staged.sha256;
    await a.commit(staged);
    expect(await objects.size(sha)).toBe(bytes.length);
    const b = store();
    expect(fs.existsSync(b.pathFor(sha))).toBe(false);
    expect(await b.verify(sha, bytes.length)).toBe('ok'); // in the bucket: fetched on first use
    expect(await b.read(sha)).toEqual(bytes);
    expect(fs.readFileSync(b.pathFor(sha))).toEqual(bytes);
    // Damaged in the cache: fetched again, and the cache repaired.
    fs.writeFileSync(b.pathFor(sha), 'overwritten');
    expect(await b.read(sha)).toEqual(bytes);
    expect(fs.readFileSync(b.pathFor(sha))).toEqual(bytes);
  });

  it('refuses an object whose bytes are not its key, and says missing when neither has it', async () => {
    const other = 'f'.repeat(64);
    await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: `team-a/ff/${other}.onnx`, Body: Buffer.from('not the bytes of that hash') }));
    await expect(store().read(other)).rejects.toMatchObject({ name: 'ArtifactDamagedError', state: 'altered' });
    await expect(store().read('e'.repeat(64))).rejects.toBeInstanceOf(ArtifactDamagedError);
    expect(await store().verify('e'.repeat(64), 10)).toBe('missing');
  });

  it('registers through one server and serves through another with its own home, the file fetched from the bucket', async () => {
    const shared = tempDir();
    const env = { MLOPS_MCP_ARTIFACTS_URL: 's3://models/team-b' };
    // One database (a SQLite file both homes' servers would share through PostgreSQL in production).
    const { app: a } = await testApp(env);
    const { app: b } = await testApp({ ...env, MLOPS_MCP_HOME: path.join(shared, 'b') });
    const ca = await connect(a);
    const cb = await connect(b);
    try {
      const reg = await ok<{ model: { artifact_sha256: string } }>(ca, 'register_model', {
        name: 'nba_points',
        artifact_path: fixture('nba_points_v1.onnx'),
        version: 'v1',
      });
      expect(fs.existsSync(a.artifacts.pathFor(reg.model.artifact_sha256))).toBe(true);
      expect(b.artifacts.sharedLocation).toBe('s3://models/team-b');
      // b reads a's bytes straight from the bucket (its registry is its own here).
      expect(await b.artifacts.read(reg.model.artifact_sha256)).toEqual(bytes);
      const health = await ok<{ components: Array<{ name: string; status: string; detail: string }> }>(cb, 'health_check', { component: 'storage' });
      expect(health.components[0]).toMatchObject({ status: 'healthy', detail: expect.stringContaining('artifacts shared in s3://models/team-b, cached here') });
    } finally {
      await ca.close();
      await cb.close();
      await a.close();
      await b.close();
    }
  });

  it('refuses a registration while the bucket cannot be reached, with nothing registered', async () => {
    const { app } = await testApp({ MLOPS_MCP_ARTIFACTS_URL: 's3://models/team-c' });
    const client = await connect(app);
    try {
      await s3.stop();
      const r = await call(client, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v2.onnx') });
      expect(errorCode(r)).toBe('unavailable');
      expect(text(r)).toMatch(/artifact store \(s3:\/\/models\/team-c, MLOPS_MCP_ARTIFACTS_URL\) failed to store an artifact/);
      expect((await ok<{ versions: unknown[] }>(client, 'list_models', {})).versions).toEqual([]);
    } finally {
      await client.close();
      await app.close();
    }
  });
});
