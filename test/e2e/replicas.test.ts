import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrations } from '../../src/store/postgres/migrations.js';
import { call, fixture, ok, text } from '../helpers.js';
import { describePostgres, sql } from '../postgres/server.js';
import { describeMlflow, useMlflowServer } from '../mlflow/mlflow-server.js';
import { describeS3 } from '../s3/server.js';
import { haproxyInstalled, mcpClient, startCluster, type Cluster } from './cluster.js';

const features = [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3];
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

describePostgres('servers behind HAProxy on one PostgreSQL and one bucket', () => {
  describeS3('(real PostgreSQL, S3 API server, two mlops-mcp servers, HAProxy)', () => {
    let cluster: Cluster;
    let a: Client;
    let b: Client;
    const clients: Client[] = [];
    beforeAll(async () => {
      if (!haproxyInstalled) return;
      // A short alert window with a low minimum, so an error episode shows within seconds.
      cluster = await startCluster({ ALERT_WINDOW_SECONDS: '3', ALERT_MIN_REQUESTS: '5' });
      [a, b] = await Promise.all(cluster.servers.map((s, i) => mcpClient(s.url, `server-${i}`)));
      clients.push(a, b);
    }, 120_000);
    afterAll(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await cluster?.stop();
    });
    const itLb = it.skipIf(!haproxyInstalled);

    itLb('applies each migration once, whichever server gets there first', async () => {
      const applied = await sql<{ version: number }>(cluster.databaseUrl, 'SELECT version FROM schema_migrations ORDER BY version');
      expect(applied.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
      const logged = cluster.servers.flatMap((s) => [...s.stderr().matchAll(/"migration":(\d+)[^\n]*applied migration/g)].map((m) => Number(m[1])));
      expect(logged.sort()).toEqual(migrations.map((m) => m.version));
    });

    itLb(
      'serves a version registered through one server and promoted through the other on both within a second, the file fetched from the bucket',
      async () => {
        const reg = await ok<{ model: { artifact_sha256: string } }>(a, 'register_model', {
          name: 'nba_points',
          artifact_path: fixture('nba_points_v1.onnx'),
          version: 'v1',
        });
        await ok(a, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v2.onnx'), version: 'v2' });
        const sha = reg.model.artifact_sha256;
        const cached = (i: number) => path.join(cluster.servers[i].home, 'artifacts', sha.slice(0, 2), `${sha}.onnx`);
        expect(fs.existsSync(cached(1))).toBe(false); // b never saw the file
        await ok(b, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
        const lag: number[] = [];
        for (let round = 0; round < 10; round++) {
          const target = round % 2 ? 'v1' : 'v2';
          const [writer, reader] = round % 2 ? [a, b] : [b, a];
          await ok(writer, 'promote_model', { name: 'nba_points', version: target, target_stage: 'production', archive_existing: false });
          const t0 = performance.now();
          let served = '';
          while (served !== target && performance.now() - t0 < 1000)
            served = (await ok<{ version: string }>(reader, 'predict', { name: 'nba_points', features })).version;
          expect(served, `round ${round}`).toBe(target);
          lag.push(performance.now() - t0);
        }
        console.info(
          `commit → served on the other server: p50 ${pct(lag, 0.5).toFixed(1)} ms, max ${Math.max(...lag).toFixed(1)} ms over ${lag.length} promotions`,
        );
        expect(fs.readFileSync(cached(1))).toEqual(fs.readFileSync(fixture('nba_points_v1.onnx')));
      },
    );

    itLb('runs a promotion storm from both servers with no error and one production version at every sample', async () => {
      let samples = 0;
      let stop = false;
      const seen: number[] = [];
      const sampler = (async () => {
        while (!stop) {
          const [{ n }] = await sql<{ n: string }>(
            cluster.databaseUrl,
            "SELECT count(*) AS n FROM model_versions WHERE model_name = 'nba_points' AND stage = 'production'",
          );
          seen.push(Number(n));
          samples++;
        }
      })();
      const failures: string[] = [];
      await Promise.all(
        [a, b, a, b].map(async (c, k) => {
          for (let i = 0; i < 15; i++) {
            const r = await call(c, 'promote_model', {
              name: 'nba_points',
              version: (i + k) % 2 ? 'v1' : 'v2',
              target_stage: 'production',
              archive_existing: false,
            });
            if (r.isError) failures.push(text(r));
          }
        }),
      );
      stop = true;
      await sampler;
      expect(failures).toEqual([]);
      expect(samples).toBeGreaterThan(5);
      expect(new Set(seen)).toEqual(new Set([1]));
    });

    itLb('routes a sticky key to the same version on every server, and counts and checks drift over both servers’ predictions', async () => {
      await ok(a, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
      await ok(a, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'staging' });
      await ok(b, 'configure_ab_test', { name: 'nba_points', weights: { v1: 0.5, v2: 0.5 }, routing: 'sticky' });
      const versions = new Set<string>();
      for (let k = 0; k < 40; k++) {
        const [va, vb] = await Promise.all(
          [a, b].map(async (c) => (await ok<{ version: string }>(c, 'predict', { name: 'nba_points', features, routing_key: `user-${k}` })).version),
        );
        expect(vb, `user-${k}`).toBe(va);
        versions.add(va);
      }
      expect(versions).toEqual(new Set(['v1', 'v2']));
      await new Promise((r) => setTimeout(r, 400)); // both servers' flushes (100 ms)
      const counts = await ok<{ variants: Array<{ version: string; count: number }> }>(a, 'get_traffic_config', { name: 'nba_points' });
      expect(counts.variants.reduce((n, v) => n + v.count, 0)).toBe(80);
      await ok(b, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
      const drift = await ok<{ features: Array<{ n_cur: number }> }>(a, 'detect_drift', { name: 'nba_points', window: { last_n: 1000 } });
      expect(drift.features[0].n_cur).toBeGreaterThanOrEqual(80);
    });

    itLb('raises one alert for an error episode both servers see', async () => {
      const bad = [1, 2]; // missing features: each call fails and counts as an error
      for (let i = 0; i < 10; i++)
        await Promise.all([call(a, 'predict', { name: 'nba_points', features: bad }), call(b, 'predict', { name: 'nba_points', features: bad })]);
      let alerts: Array<{ type: string }> = [];
      for (const end = Date.now() + 5000; Date.now() < end;) {
        alerts = (await ok<{ alerts: Array<{ type: string }> }>(a, 'get_alerts', { severity: 'critical' })).alerts.filter((x) => x.type === 'high_error_rate');
        if (alerts.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 2500)); // both servers' alert checks have run (every second) on that episode
      alerts = (await ok<{ alerts: Array<{ type: string }> }>(b, 'get_alerts', { severity: 'critical' })).alerts.filter((x) => x.type === 'high_error_rate');
      expect(alerts).toHaveLength(1);
    });
  });

  describeS3('(HAProxy in front, with approval through elicitation)', () => {
    let cluster: Cluster;
    const clients: Client[] = [];
    beforeAll(async () => {
      if (!haproxyInstalled) return;
      cluster = await startCluster({ MLOPS_MCP_APPROVAL: 'elicit', MLOPS_MCP_APPROVAL_TIMEOUT_SECONDS: '20' });
      const setup = await mcpClient(cluster.servers[0].url, 'setup', { elicitation: { form: {} } });
      clients.push(setup);
      await ok(setup, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v1.onnx'), version: 'v1' });
      await ok(setup, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v2.onnx'), version: 'v2' });
      setup.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { approve: true, reason: 'setup' } }));
      await ok(setup, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
    }, 120_000);
    afterAll(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await cluster?.stop();
    });
    const itLb = it.skipIf(!haproxyInstalled);

    itLb('keeps an MCP session on its server through HAProxy, approval included; spreads REST over both; survives losing a server', async () => {
      const viaLb = await mcpClient(cluster.lb, 'through-haproxy', { elicitation: { form: {} } });
      clients.push(viaLb);
      let asked = 0;
      viaLb.setRequestHandler(ElicitRequestSchema, async () => {
        asked++;
        return { action: 'accept', content: { approve: true, reason: 'approved through the balancer' } };
      });
      // Many calls on one session: every one reaches the server that holds it.
      for (let i = 0; i < 10; i++) await ok(viaLb, 'predict', { name: 'nba_points', features });
      const promoted = await ok<{ changes: unknown[] }>(viaLb, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production' });
      expect(promoted.changes.length).toBeGreaterThan(0);
      expect(asked).toBe(1);

      const rest = async () => {
        const r = await fetch(`${cluster.lb}/invocations/nba_points`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [features] }),
        });
        return r.status;
      };
      const since = new Date().toISOString();
      for (let i = 0; i < 40; i++) expect(await rest()).toBe(200);
      // Each server's log writer (a low-priority thread) flushes every 200 ms; on a loaded
      // machine it may take seconds, so wait for both writers' rows, up to a bound.
      let writers: Array<{ writer: string; n: string }> = [];
      for (const deadline = Date.now() + 15_000; writers.length < 2 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        writers = await sql<{ writer: string; n: string }>(
          cluster.databaseUrl,
          'SELECT writer, count(*) AS n FROM predictions WHERE created_at >= $1 GROUP BY writer',
          [since],
        );
      }
      expect(writers.length, 'REST requests reached both servers').toBe(2);

      // Which server holds the balancer's session: only that one knows its id.
      const sessionId = (viaLb.transport as unknown as { sessionId?: string }).sessionId!;
      const knows = await Promise.all(
        cluster.servers.map(async (s) => {
          const r = await fetch(`${s.url}/mcp`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              'mcp-session-id': sessionId,
              'mcp-protocol-version': '2025-06-18',
            },
            body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'ping' }),
          });
          await r.text();
          return r.status;
        }),
      );
      const owner = knows.indexOf(200);
      expect(knows[1 - owner]).toBe(404);
      cluster.servers[owner].child.kill('SIGKILL');
      await cluster.servers[owner].stop();
      // REST goes on through the other server, from the first request on.
      for (let i = 0; i < 20; i++) expect(await rest()).toBe(200);
      // The session is gone with its server: the other one answers 404, and a new session works.
      const lost = await call(viaLb, 'predict', { name: 'nba_points', features }).then(
        () => null,
        (e: Error & { code?: number }) => ({ status: e.code, message: e.message }),
      );
      expect(lost).toEqual({ status: 404, message: expect.stringContaining('Session not found: start a new session with initialize') });
      const fresh = await mcpClient(cluster.lb, 'after-failover');
      clients.push(fresh);
      expect((await ok<{ version: string }>(fresh, 'predict', { name: 'nba_points', features })).version).toBe('v2');
      await cluster.restart(owner);
    });
  });

  describeMlflow('(a real MLflow server as the registry of record)', () => {
    describeS3('', () => {
      const mlflow = useMlflowServer();
      let cluster: Cluster;
      const clients: Client[] = [];
      beforeAll(async () => {
        cluster = await startCluster({ MLFLOW_TRACKING_URI: mlflow().uri, MLFLOW_SYNC_INTERVAL_MS: '200' });
      }, 120_000);
      afterAll(async () => {
        for (const c of clients) await c.close().catch(() => undefined);
        await cluster?.stop();
      });

      /** MLflow's versions of a model (our label from its tag) and who holds each alias, as the MLflow UI shows them. */
      const mlflowGet = async <T>(endpoint: string, query: Record<string, string>) =>
        (await (await fetch(`${mlflow().uri}/api/2.0/mlflow/${endpoint}?${new URLSearchParams(query).toString()}`)).json()) as T;
      const mlflowVersions = async (name: string) => {
        const found = await mlflowGet<{ model_versions?: Array<{ version: string; tags?: Array<{ key: string; value: string }> }> }>('model-versions/search', {
          filter: `name='${name}'`,
        });
        const model = await mlflowGet<{ registered_model: { aliases?: Array<{ alias: string; version: string }> } }>('registered-models/get', { name });
        return (found.model_versions ?? []).map((v) => ({
          ours: v.tags?.find((t) => t.key === 'mlops_mcp.version')?.value,
          aliases: (model.registered_model.aliases ?? []).filter((x) => x.version === v.version).map((x) => x.alias),
        }));
      };
      const drained = async () => {
        for (const end = Date.now() + 30_000; Date.now() < end;) {
          const [{ n }] = await sql<{ n: string }>(cluster.databaseUrl, 'SELECT count(*) AS n FROM mlflow_outbox');
          if (Number(n) === 0) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error('the outbox was not pushed within 30 s');
      };
      const production = async (name: string) => (await mlflowVersions(name)).filter((v) => v.aliases.includes('production')).map((v) => v.ours);

      it('pushes each change made through either server once and in order, and hands the outbox over when its pusher dies', { timeout: 120_000 }, async () => {
        const [a, b] = await Promise.all(cluster.servers.map((srv, i) => mcpClient(srv.url, `server-${i}`)));
        clients.push(a, b);
        await ok(a, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v1.onnx'), version: 'v1' });
        await ok(b, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v2.onnx'), version: 'v2' });
        for (let i = 0; i < 6; i++)
          await ok(i % 2 ? a : b, 'promote_model', { name: 'nba_points', version: i % 2 ? 'v1' : 'v2', target_stage: 'production', archive_existing: false });
        await drained();
        const versions = await mlflowVersions('nba_points');
        expect(versions.map((v) => v.ours).sort()).toEqual(['v1', 'v2']); // each registered once
        expect(await production('nba_points')).toEqual(['v1']); // the last promotion, pushed last

        // Which server pushes: its health says so; the other one says another server does.
        const leads = await Promise.all(
          [a, b].map(async (c) =>
            (await ok<{ components: Array<{ detail: string }> }>(c, 'health_check', { component: 'mlflow' })).components[0].detail.includes(
              'changes pushed since start',
            ),
          ),
        );
        expect(leads.filter(Boolean)).toHaveLength(1);
        const leader = leads.indexOf(true);
        cluster.servers[leader].child.kill('SIGKILL');
        await cluster.servers[leader].stop();
        const survivor = leader === 0 ? b : a;
        await ok(survivor, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', archive_existing: false });
        await drained();
        expect(await production('nba_points')).toEqual(['v2']);
        expect((await mlflowVersions('nba_points')).length).toBe(2);
      });
    });
  });
});
