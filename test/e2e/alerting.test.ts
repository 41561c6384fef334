/**
 * Alerts reaching people the way SREs route them, with Debian's Prometheus and Alertmanager on
 * loopback: Prometheus scrapes `serve --http --demo` and evaluates the shipped rules (their `for:`
 * durations shortened: a test cannot wait minutes), Alertmanager posts what fires to a receiver
 * in this test; the server also pushes its own alerts to that Alertmanager.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config.js';
import { call, fixture, ok, tempDir } from '../helpers.js';
import { freePort } from '../mlflow/mlflow-server.js';
import { mcpClient } from './cluster.js';
import { spawnHttp, type SpawnedHttp } from './spawn.js';

const installed = ['prometheus', 'prometheus-alertmanager'].every((bin) => spawnSync(bin, ['--version']).status === 0);
if (!installed) {
  const why = 'prometheus and prometheus-alertmanager are not installed (apt-get install prometheus prometheus-alertmanager)';
  if (process.env.MLOPS_MCP_REQUIRE_PROMETHEUS === '1') throw new Error(`MLOPS_MCP_REQUIRE_PROMETHEUS=1 but ${why}`);
  console.warn(`[prometheus] alerting tests SKIPPED: ${why}; set MLOPS_MCP_REQUIRE_PROMETHEUS=1 to make this a failure.`);
}

interface Notification {
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
}

describe.skipIf(!installed)('Prometheus rules and Alertmanager (real Prometheus, Alertmanager, server)', () => {
  const children: ChildProcess[] = [];
  const notifications: Notification[] = [];
  let receiver: http.Server;
  let server: SpawnedHttp;
  let client: Client;

  const start = (bin: string, args: string[]) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    children.push(child);
    return () => log;
  };
  const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 30_000) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) if (await ok()) return;
    throw new Error(`timed out waiting for ${what}`);
  };
  const fired = (name: string) => notifications.flatMap((n) => n.alerts).filter((a) => a.status === 'firing' && a.labels.alertname === name);

  beforeAll(async () => {
    const dir = tempDir('mlops-mcp-alerting-');
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        notifications.push(JSON.parse(body) as Notification);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
    const [amPort, promPort] = [await freePort(), await freePort()];
    fs.writeFileSync(
      path.join(dir, 'alertmanager.yml'),
      `route: { receiver: test, group_by: [alertname, model], group_wait: 0s, group_interval: 1s, repeat_interval: 1h }\nreceivers: [{ name: test, webhook_configs: [{ url: '${hook}', send_resolved: false }] }]\n`,
    );
    const amLog = start('prometheus-alertmanager', [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'am')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ]);
    const alertmanager = `http://127.0.0.1:${amPort}`;
    await until('alertmanager', () =>
      fetch(`${alertmanager}/-/ready`).then(
        (r) => r.ok,
        () => false,
      ),
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${amLog()}`);
    });

    server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: path.join(dir, 'home'), MLOPS_MCP_ALERTMANAGER_URL: alertmanager, ALERT_MIN_REQUESTS: '5' });
    client = await mcpClient(server.url, 'alerting-test');

    // The shipped rules, as shipped but for their `for:` durations.
    const rules = fs.readFileSync(path.join(packageRoot, 'deploy', 'prometheus', 'rules.yml'), 'utf8').replace(/for: \d+m/g, 'for: 0s');
    fs.writeFileSync(path.join(dir, 'rules.yml'), rules);
    const target = new URL(server.url).host;
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: [rules.yml]\nalerting: { alertmanagers: [{ static_configs: [{ targets: ['127.0.0.1:${amPort}'] }] }] }\nscrape_configs: [{ job_name: mlops-mcp, static_configs: [{ targets: ['${target}'] }] }]\n`,
    );
    const promLog = start('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    const prometheus = `http://127.0.0.1:${promPort}`;
    await until('prometheus scraping the server', async () => {
      const r = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent('up{job="mlops-mcp"}')}`).then(
        (x) => x.json() as Promise<{ data?: { result: Array<{ value: [number, string] }> } }>,
        () => null,
      );
      return r?.data?.result[0]?.value[1] === '1';
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n${promLog()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    for (const c of children) c.kill('SIGKILL');
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  });

  it(
    'fires HighErrorRate through Alertmanager on a burst of failing predictions, and the server pushes its own high_error_rate there too',
    { timeout: 60_000 },
    async () => {
      const features = [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3];
      for (let i = 0; i < 5; i++) await ok(client, 'predict', { name: 'nba_points', features });
      await new Promise((r) => setTimeout(r, 2500)); // scraped with no errors yet
      for (let i = 0; i < 40; i++) await call(client, 'predict', { name: 'nba_points', features: [1, 2] }); // missing features: each fails
      await until('HighErrorRate at the receiver', () => fired('HighErrorRate').length > 0);
      expect(fired('HighErrorRate')[0].labels).toMatchObject({ model: 'nba_points', severity: 'critical' });
      await until('high_error_rate pushed by the server', () => fired('high_error_rate').length > 0);
      expect(fired('high_error_rate')[0]).toMatchObject({
        labels: { service: 'mlops-mcp', severity: 'critical', model: 'nba_points' },
        annotations: { summary: expect.stringMatching(/requests failed/) },
      });
    },
  );

  it('fires FeatureDrift after a drift check on the shifted demo CSV, and the server pushes feature_drift', { timeout: 60_000 }, async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
    await ok(client, 'detect_drift', { name: 'nba_points', csv_path: fixture('nba_points_current.csv') });
    await until('FeatureDrift at the receiver', () => fired('FeatureDrift').length > 0);
    expect(fired('FeatureDrift')[0].labels).toMatchObject({ model: 'nba_points', severity: 'warning' });
    await until('feature_drift pushed by the server', () => fired('feature_drift').length > 0);
    expect(fired('feature_drift')[0].annotations.status_page).toBe(`${server.url.replace(/\/mcp$/, '')}/`);
  });
});
