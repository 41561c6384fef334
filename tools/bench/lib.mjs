// Shared helpers of the serving benchmark: statistics, timing loops, child processes (always
// killed at the end), MCP clients over the three transports, /proc readings, tables.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const NOOP = path.join(ROOT, 'tools', 'bench', 'noop-server.mjs');
export const FIXTURES = path.join(ROOT, 'fixtures');

// ---------------------------------------------------------------- statistics

/** Linear-interpolated quantile of sorted values (numpy's default). */
export function quantile(sorted, q) {
  if (!sorted.length) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(values) {
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), max: s[s.length - 1], mean: sum / s.length };
}

export const median = (values) => quantile(Float64Array.from(values).sort(), 0.5);
export const round = (x, d = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

// ---------------------------------------------------------------- progress on stderr

const tty = process.stderr.isTTY;
export function progress(label) {
  const started = performance.now();
  let last = 0;
  if (!tty) process.stderr.write(`[bench] ${label} …\n`);
  return {
    update(i, n) {
      if (!tty) return;
      const now = performance.now();
      if (now - last < 100 && i < n) return;
      last = now;
      process.stderr.write(`\r\x1b[K[bench] ${label} ${i}/${n}`);
    },
    done(note = '') {
      const s = ((performance.now() - started) / 1000).toFixed(1);
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}[bench] ${label} done in ${s} s${note ? ` ${note}` : ''}\n`);
    },
  };
}

// ---------------------------------------------------------------- child processes

const children = new Set();

/** Kills every child we started (synchronous: safe in an 'exit' handler). */
export function killChildren() {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  children.clear();
}

export function trackPid(pid) {
  if (pid) children.add(pid);
}

export function untrackPid(pid) {
  children.delete(pid);
}

/**
 * A scratch directory for one benchmark, removed at exit with every child (and the PostgreSQL
 * server, once started); Ctrl-C exits the same way. `startPostgres()` starts one of its own on a
 * random loopback port (tools/postgres-server.sh) and answers its admin URL.
 */
export function scratch(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mlops-mcp-bench-${name}-`));
  const pgDir = path.join(dir, 'pg');
  const script = path.join(ROOT, 'tools', 'postgres-server.sh');
  let pgStarted = false;
  process.on('exit', () => {
    killChildren();
    if (pgStarted) spawnSync('bash', [script, 'stop', pgDir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));
  return {
    dir,
    pgDir,
    startPostgres() {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const url = execFileSync('bash', [script, 'start', pgDir, String(port)], { encoding: 'utf8' }).trim();
      pgStarted = true;
      return url;
    },
  };
}

/** Ends a child by its pid: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopPid(pid, graceMs = 3000) {
  if (!pid) return;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const until = Date.now() + graceMs;
  while (alive() && Date.now() < until) await sleep(25);
  if (alive()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  untrackPid(pid);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawns an HTTP server that prints "listening on http://…/mcp" on stderr; resolves with its base URL. */
export function spawnHttp(script, args, env) {
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  trackPid(child.pid);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${err.slice(-2000)}`)), 20_000);
    child.stderr.on('data', (d) => {
      err = (err + d.toString()).slice(-20_000);
      const m = /listening on (http:\/\/\S+)\/mcp/.exec(err);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ pid: child.pid, url: `${m[1]}/mcp`, stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      untrackPid(child.pid);
      reject(new Error(`${script} exited with ${code}:\n${err.slice(-2000)}`));
    });
  });
}

// ---------------------------------------------------------------- MCP clients

const CLIENT_INFO = { name: 'mlops-mcp-bench', version: '1.0.0' };

/** A client that lists the tools once (as real clients do, so output schemas are validated). */
async function ready(client) {
  await client.listTools();
  return client;
}

export async function memoryClient(makeServer) {
  const server = makeServer();
  const [c, s] = InMemoryTransport.createLinkedPair();
  await server.connect(s);
  const client = new Client(CLIENT_INFO);
  await client.connect(c);
  await ready(client);
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** Spawns `node script args` over stdio; its stderr is drained (kept last 20 kB). */
export async function stdioClient(script, args, env) {
  const transport = new StdioClientTransport({ command: process.execPath, args: [script, ...args], env, stderr: 'pipe', cwd: ROOT });
  let err = '';
  transport.stderr?.on('data', (d) => {
    err = (err + d.toString()).slice(-20_000);
  });
  const client = new Client(CLIENT_INFO);
  try {
    await client.connect(transport);
  } catch (e) {
    if (transport.pid) process.kill(transport.pid, 'SIGKILL');
    throw new Error(`${script} over stdio failed to start: ${e?.message}\n${err}`);
  }
  trackPid(transport.pid);
  await ready(client);
  const pid = transport.pid;
  return {
    client,
    pid,
    stderr: () => err,
    async close() {
      await client.close().catch(() => undefined);
      await stopPid(pid);
    },
  };
}

/**
 * A Streamable HTTP client. Each POST gets its own AbortSignal: the SDK otherwise shares one
 * signal across requests and adds a listener to it per request (a leak over thousands of calls).
 * The long-lived GET (SSE) stream keeps the SDK's signal. Node's fetch keeps connections alive.
 */
export async function httpClient(url) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: (u, init) => fetch(u, init?.method === 'POST' ? { ...init, signal: AbortSignal.timeout(30_000) } : init),
  });
  const client = new Client(CLIENT_INFO);
  await client.connect(transport);
  await ready(client);
  return {
    client,
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    },
  };
}

/** Calls a tool that must succeed; returns its structured content. */
export async function callOk(client, name, args) {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name} failed: ${r.content?.[0]?.text}`);
  return r.structuredContent;
}

// ---------------------------------------------------------------- timing loops

/**
 * Sequential calls to several servers, interleaved: `rounds` blocks of n/rounds calls to each in
 * turn (after `warmup` calls to each), so that a busy moment on the machine hits all of them
 * alike. The warm-up is long enough for V8 to finish compiling: measured here, a freshly started
 * server's background threads (optimizing compiler, concurrent GC) stay busy for its first
 * 3 000–4 000 calls, and p99 in that stretch is 3–5 ms for every server, naive_predict's included;
 * the earlier 1 000-call warm-up left most of it inside the measured calls, where it also slowed
 * the other server of the pair. Per server: latencies in ms, calls/s while its blocks ran and, for
 * a spawned server `pid`, its CPU time per call (µs, from /proc; 10 ms ticks) and the bench
 * process's.
 */
export async function sequential(label, targets, { warmup = 5000, n = 2000, rounds = 10 } = {}) {
  const bar = progress(label);
  const names = Object.keys(targets);
  for (const name of names) {
    for (let i = 0; i < warmup; i++) {
      await targets[name].call(i);
      if ((i & 63) === 0) await yieldToLoop();
    }
  }
  const per = Math.ceil(n / rounds);
  const acc = Object.fromEntries(names.map((k) => [k, { lat: new Float64Array(per * rounds), done: 0, ms: 0, cpuUs: 0, ticks: 0 }]));
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const { call, pid } = targets[name];
      const a = acc[name];
      const srv0 = pid ? cpuTicks(pid) : null;
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < per; i++) {
        const t = performance.now();
        await call(a.done);
        a.lat[a.done++] = performance.now() - t;
        if ((i & 63) === 0) await yieldToLoop();
      }
      a.ms += performance.now() - started;
      const cpu = process.cpuUsage(cpu0);
      a.cpuUs += cpu.user + cpu.system;
      if (srv0 !== null) a.ticks += (cpuTicks(pid) ?? srv0) - srv0;
      bar.update(r * names.length + names.indexOf(name) + 1, rounds * names.length);
    }
  }
  bar.done();
  return Object.fromEntries(
    names.map((name) => {
      const a = acc[name];
      return [
        name,
        {
          latencyMs: summarize(a.lat),
          callsPerSec: (a.done / a.ms) * 1000,
          benchCpuUsPerCall: a.cpuUs / a.done,
          serverCpuUsPerCall: targets[name].pid ? (a.ticks * (1_000_000 / CLK_TCK)) / a.done : null,
        },
      ];
    }),
  );
}

/** Lets timers, I/O and signals run: an in-memory transport answers in microtasks only. */
const yieldToLoop = () => new Promise((r) => setImmediate(r));

/**
 * `workers` loops calling as fast as they can for `durationMs` (after `warmupMs`); calls/s, and
 * CPU used meanwhile by the bench process and by the server process `pid` (% of one core).
 * The clock is read in the loops themselves, so no timer has to fire for the run to end.
 */
export async function concurrent(label, calls, { durationMs = 3000, warmupMs = 500, pid = null } = {}) {
  const bar = progress(label);
  const begin = performance.now();
  const t0 = begin + warmupMs;
  const t1 = t0 + durationMs;
  let count = 0;
  let cpu0 = null;
  let srv0 = null;
  let cpu = null;
  let srv1 = null;
  let lastBar = 0;
  const tick = (now) => {
    if (cpu0 === null && now >= t0) {
      cpu0 = process.cpuUsage();
      srv0 = pid ? cpuTicks(pid) : null;
    }
    if (cpu === null && now >= t1) {
      cpu = process.cpuUsage(cpu0 ?? undefined);
      srv1 = pid ? cpuTicks(pid) : null;
    }
    if (now - lastBar > 100) {
      lastBar = now;
      bar.update(Math.max(0, Math.min(durationMs, Math.round(now - t0))), durationMs);
    }
  };
  const loop = async (call, w) => {
    let i = w * 1_000_000;
    for (;;) {
      const before = performance.now();
      tick(before);
      if (before >= t1) return;
      await call(i++);
      const after = performance.now();
      // A call counts when it both started and ended inside the timed window.
      if (before >= t0 && after <= t1) count++;
      if ((i & 31) === 0) await yieldToLoop();
    }
  };
  await Promise.all(calls.map((c, w) => loop(c, w)));
  bar.done();
  const elapsed = durationMs;
  return {
    workers: calls.length,
    callsPerSec: (count / elapsed) * 1000,
    benchCpuPct: cpu ? ((cpu.user + cpu.system) / 1000 / elapsed) * 100 : null,
    serverCpuPct: srv0 !== null && srv1 !== null ? (((srv1 - srv0) * (1000 / CLK_TCK)) / elapsed) * 100 : null,
  };
}

// ---------------------------------------------------------------- /proc

const CLK_TCK = 100;

/** utime + stime of a process, in clock ticks. */
export function cpuTicks(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** VmHWM (peak RSS) and VmRSS of a process, in MiB. */
export function memoryOf(pid = 'self') {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peakMiB: round(kb('VmHWM') / 1024, 1), rssMiB: round(kb('VmRSS') / 1024, 1) };
  } catch {
    return { peakMiB: null, rssMiB: null };
  }
}

// ---------------------------------------------------------------- data

/** nba_points v1's feature names (from fixtures/models.json) and the reference CSV's rows as named features: what every bench sends. */
export function referenceRows() {
  const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'models.json'), 'utf8'));
  const features = manifest.models.find((m) => m.name === 'nba_points' && m.version === '1').feature_names;
  return { features, rows: featureRows(path.join(FIXTURES, 'nba_points_reference.csv'), features) };
}

/** The reference CSV as named feature rows (the target column left out). */
export function featureRows(file, features) {
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = head.split(',');
  const at = features.map((f) => {
    const i = cols.indexOf(f);
    if (i < 0) throw new Error(`${file} has no column ${f}`);
    return i;
  });
  return lines.map((line) => {
    const v = line.split(',').map(Number);
    return Object.fromEntries(features.map((f, j) => [f, v[at[j]]]));
  });
}

// ---------------------------------------------------------------- output

/** A plain-text table: header row, then rows of cells (numbers right-aligned). */
export function table(title, header, rows) {
  const cells = [header, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? '–' : typeof c === 'number' ? fmt(c) : String(c))));
  const widths = header.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  const numeric = header.map((_, j) => rows.every((r) => typeof r[j] === 'number' || r[j] === null || r[j] === undefined));
  const line = (r) => r.map((c, j) => (numeric[j] ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join('  ');
  return [`\n## ${title}`, line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function fmt(x) {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}
