/**
 * The deployment files, checked as far as this machine can (no Docker daemon, no cluster): every
 * YAML parses into what it claims to be, every variable handed to mlops-mcp is one it reads (or
 * the AWS SDK's), HAProxy accepts both of its configurations, the Dockerfile runs the server as
 * a user that is not root.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { configSchema, packageRoot } from '../src/config.js';
import { spawnHttp, type SpawnedHttp } from './e2e/spawn.js';
import { tempDir } from './helpers.js';

const DEPLOY = path.join(packageRoot, 'deploy');
const haproxy = spawnSync('haproxy', ['-v']).status === 0;
const promtool = spawnSync('promtool', ['--version']).status === 0;
if (!promtool && process.env.MLOPS_MCP_REQUIRE_PROMETHEUS === '1')
  throw new Error('MLOPS_MCP_REQUIRE_PROMETHEUS=1 but promtool is not installed (apt-get install prometheus)');
const known = new Set(Object.keys(configSchema.shape));
/** The AWS SDK's own variables, which the S3 artifact store leaves to it. */
const AWS = new Set([
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
]);

type Doc = Record<string, unknown> & { kind?: string; metadata?: { name?: string }; data?: Record<string, string>; stringData?: Record<string, string> };

function yamlFiles(): string[] {
  const k8s = fs.readdirSync(path.join(DEPLOY, 'k8s')).map((f) => path.join(DEPLOY, 'k8s', f));
  return [path.join(DEPLOY, 'compose.yaml'), ...k8s].filter((f) => f.endsWith('.yaml'));
}

function docs(file: string): Doc[] {
  const parsed = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  for (const d of parsed) expect(d.errors, file).toEqual([]);
  return parsed.map((d) => d.toJS() as Doc);
}

/** Names a file hands to mlops-mcp as environment (compose service env, ConfigMap and Secret keys). */
function variablesOf(file: string): string[] {
  const out: string[] = [];
  for (const doc of docs(file)) {
    if (doc.kind === 'ConfigMap' && doc.metadata?.name === 'mlops-mcp') out.push(...Object.keys(doc.data ?? {}));
    if (doc.kind === 'Secret' && doc.metadata?.name === 'mlops-mcp') out.push(...Object.keys(doc.stringData ?? {}));
    const services = (doc.services ?? {}) as Record<string, { environment?: Record<string, string>; build?: unknown }>;
    for (const service of Object.values(services)) if (service.build) out.push(...Object.keys(service.environment ?? {}));
  }
  return out;
}

describe('deployment files', () => {
  it('parse, every Kubernetes object with a kind, a name and an apiVersion', () => {
    const kinds: string[] = [];
    for (const file of yamlFiles()) {
      for (const doc of docs(file)) {
        if (file.includes(`${path.sep}k8s${path.sep}`)) {
          expect(doc.apiVersion, file).toEqual(expect.any(String));
          expect(doc.metadata?.name, file).toEqual(expect.any(String));
          kinds.push(doc.kind as string);
        }
      }
    }
    expect(kinds.sort()).toEqual([
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'Deployment',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'Service',
      'Service',
    ]);
  });

  it('hand mlops-mcp only variables it reads (or the AWS SDK does)', () => {
    const files = yamlFiles();
    const given = files.flatMap(variablesOf);
    expect(given.length).toBeGreaterThan(10);
    expect(given.filter((v) => !known.has(v) && !AWS.has(v))).toEqual([]);
  });

  it('probe the servers with a Host they accept, on routes that exist', () => {
    const deployment = docs(path.join(DEPLOY, 'k8s', 'deployment.yaml'))[0] as {
      spec: { template: { spec: { containers: Array<Record<string, { httpGet: { path: string; httpHeaders: Array<{ name: string; value: string }> } }>> } } };
    };
    const container = deployment.spec.template.spec.containers[0];
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(['/healthz', '/ping']).toContain(probe.httpGet.path);
      expect(probe.httpGet.httpHeaders).toContainEqual({ name: 'Host', value: 'localhost' });
    }
  });

  it('build an image that runs the HTTP server as an unprivileged user', () => {
    const lines = fs
      .readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.trimStart().startsWith('#'));
    const froms = lines.filter((l) => l.startsWith('FROM '));
    expect(froms).toHaveLength(2); // a build stage and a run stage
    const runStage = lines.slice(lines.lastIndexOf(froms[1]));
    expect(runStage.some((l) => /^USER (?!root)\w+/.test(l))).toBe(true);
    expect(runStage.find((l) => l.startsWith('CMD '))).toContain('"serve", "--http"');
    expect(runStage.some((l) => l.startsWith('HEALTHCHECK'))).toBe(true);
    for (const copied of runStage.filter((l) => l.startsWith('COPY ')).map((l) => l.split(' ').at(-2)!)) expect(copied).toMatch(/^\/app\//);
    expect(fs.readFileSync(path.join(packageRoot, '.dockerignore'), 'utf8')).toMatch(/^node_modules$/m);
  });

  it.skipIf(!haproxy)('give HAProxy configurations it accepts: the compose one and the Kubernetes one', () => {
    const check = (file: string) => spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
    const compose = check(path.join(DEPLOY, 'haproxy.cfg'));
    expect(compose.status, compose.stdout + compose.stderr).toBe(0);
    const configMap = docs(path.join(DEPLOY, 'k8s', 'haproxy.yaml')).find((d) => d.kind === 'ConfigMap')!;
    const file = path.join(tempDir(), 'haproxy.cfg');
    fs.writeFileSync(file, configMap.data!['haproxy.cfg']);
    const k8s = check(file);
    expect(k8s.status, k8s.stdout + k8s.stderr).toBe(0);
  });
});

describe('Prometheus rules, Alertmanager configuration and the Grafana dashboard', () => {
  let server: SpawnedHttp;
  let exported: Set<string>;
  beforeAll(async () => {
    // Every optional part on, so every metric is registered: MLflow (unreachable: only its
    // outbox metrics matter here) and an alert receiver.
    server = await spawnHttp(['--demo'], {
      MLOPS_MCP_HOME: path.join(tempDir(), 'home'),
      MLFLOW_TRACKING_URI: 'http://127.0.0.1:9',
      MLOPS_MCP_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
    });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  /** mlops_mcp metric names an expression uses, histogram series named by their metric. */
  const namesIn = (text: string) => [...new Set([...text.matchAll(/\bmlops_mcp_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))];

  it('name only metrics /metrics exports, in every rule and every dashboard panel', () => {
    const rules = namesIn(fs.readFileSync(path.join(DEPLOY, 'prometheus', 'rules.yml'), 'utf8'));
    const dashboard = JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana', 'mlops-mcp.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const panels = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => namesIn(t.expr)));
    expect(rules.length).toBeGreaterThan(8);
    expect(panels.length).toBeGreaterThan(8);
    expect([...rules, ...panels].filter((n) => !exported.has(n))).toEqual([]);
  });

  it.skipIf(!promtool)('pass their promtool unit tests, and the example configurations check', () => {
    const tests = spawnSync('promtool', ['test', 'rules', path.join(DEPLOY, 'prometheus', 'rules.test.yml')], { encoding: 'utf8' });
    expect(tests.status, tests.stdout + tests.stderr).toBe(0);
    const config = spawnSync('promtool', ['check', 'config', path.join(DEPLOY, 'prometheus', 'prometheus.yml')], { encoding: 'utf8' });
    expect(config.status, config.stdout + config.stderr).toBe(0);
    const amtool = spawnSync('amtool', ['check-config', path.join(DEPLOY, 'prometheus', 'alertmanager.yml')], { encoding: 'utf8' });
    if (amtool.error === undefined) expect(amtool.status, amtool.stdout + amtool.stderr).toBe(0);
  });
});
