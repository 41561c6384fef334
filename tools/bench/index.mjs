#!/usr/bin/env node
// mlops-mcp serving benchmark: `npm run bench` (= npm run build && node tools/bench/index.mjs).
// Tables on stdout, one per section, then the targets with PASS/FAIL and a final JSON line with
// every number; progress on stderr. `--quick` runs far fewer iterations (a smoke test, not figures).
// Every spawned server is killed at the end, on error and on Ctrl-C; the temp home is removed.
//
// onnxruntime-node reads ORT_DISABLE_TELEMETRY when its native library loads: set it before
// any module that could import it (hence only node: imports here and dynamic imports below).
process.env.ORT_DISABLE_TELEMETRY = '1';

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const quick = process.argv.includes('--quick');
const started = performance.now();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-mcp-bench-'));
const home = path.join(tmp, 'home');

const lib = await import('./lib.mjs');
const { killChildren, round, table, memoryOf } = lib;

let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  killChildren();
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    process.stderr.write(`\n[bench] ${sig}: stopping servers\n`);
    cleanup();
    process.exit(130);
  });
}

function gitCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: lib.ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: lib.ROOT, encoding: 'utf8' }).trim() ? ' (src/ modified)' : '';
    return head + dirty;
  } catch {
    return null;
  }
}

const pkg = (name) => JSON.parse(fs.readFileSync(path.join(lib.ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;

async function main() {
  if (!fs.existsSync(lib.CLI)) throw new Error(`${lib.CLI} is missing: run npm run build first`);
  const { features, rows } = lib.referenceRows();

  const machine = {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model?.trim(),
    platform: `${os.platform()} ${os.release()}`,
    sdk: pkg('@modelcontextprotocol/sdk'),
    onnxruntimeNode: pkg('onnxruntime-node'),
    commit: gitCommit(),
    loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
    quick,
  };
  if (machine.loadAvgAtStart[0] > 0.8) {
    process.stderr.write(`[bench] warning: load average ${machine.loadAvgAtStart.join(' ')} on ${machine.cpus} cores: other processes will skew the figures\n`);
  }
  print(
    `# mlops-mcp serving benchmark\nnode ${machine.node} · ${machine.cpus} × ${machine.cpuModel} · ${machine.platform} · @modelcontextprotocol/sdk ${machine.sdk} · onnxruntime-node ${machine.onnxruntimeNode} · commit ${machine.commit ?? '?'} · load average at start ${machine.loadAvgAtStart.join(' ')}${quick ? ' · --quick (smoke run, not figures)' : ''}`,
  );
  process.stderr.write(
    `[bench] node ${machine.node}, ${machine.cpus} cores, SDK ${machine.sdk}, onnxruntime-node ${machine.onnxruntimeNode}${quick ? ' (--quick: smoke run)' : ''}\n`,
  );

  const { setupDemo, runTransport } = await import('./transports.mjs');
  const { rawOnnx } = await import('./raw-onnx.mjs');
  const { loggingCost } = await import('./logging.mjs');

  await setupDemo(home);
  const raw = await rawOnnx({ rows, features });
  print(section1(raw));

  const seqN = quick ? 300 : 2000;
  const durationMs = quick ? 800 : 3000;
  const transports = {};
  for (const t of ['memory', 'stdio', 'http']) {
    transports[t] = await runTransport(t, { home, rows, features, seqN, warmup: quick ? 300 : 5000, durationMs, batch: t === 'stdio' });
  }
  print(section2(transports));
  print(section3(transports));
  print(section4(transports.stdio.batch));

  const logging = await loggingCost({ tmp, n: quick ? 20_000 : 100_000, warmup: quick ? 2_000 : 20_000 });
  print(section5(logging));

  const memory = {
    bench: memoryOf('self'),
    stdioServer: transports.stdio.memory.ourServer,
    httpServer: transports.http.memory.ourServer,
    stdioNoop: transports.stdio.memory.floorServer,
    httpNoop: transports.http.memory.floorServer,
  };
  print(section6(memory));

  const targets = evaluate(raw, transports, logging);
  print(targetsTable(targets));
  const seconds = (performance.now() - started) / 1000;
  machine.loadAvgAtEnd = os.loadavg().map((x) => round(x, 2));
  print(`\nTotal run time: ${seconds.toFixed(0)} s; load average at end ${machine.loadAvgAtEnd.join(' ')}${quick ? ' (--quick: not for publication)' : ''}`);

  const json = { machine, raw, transports, logging, memory, targets, seconds: round(seconds, 1) };
  print(JSON.stringify(json, (_k, v) => (typeof v === 'number' ? round(v, 4) : v)));
}

const print = (s) => process.stdout.write(`${s}\n`);
const ms = (us) => us / 1000;

function section1(raw) {
  const row = (label, r) => [
    label,
    r.singleUs.p50,
    r.singleUs.p99,
    r.singleUs.n,
    r.singleBetweenCallsUs.p50,
    r.singleBetweenCallsUs.p99,
    r.singleAfterIdleUs.p50,
    r.singleAfterIdleUs.p99,
    r.batch1k.rowsPerSec,
    r.batch10k.rowsPerSec,
  ];
  return table(
    '1. Raw onnxruntime-node, in-process (session.run, fresh [N,10] float32 tensor each call). Tight loop; with one in-process MCP noop call between runs (caches cooled by other work); and after the thread slept 150 µs before each run (as a server sleeps between requests)',
    [
      'model',
      'single p50 µs',
      'single p99 µs',
      'runs',
      'between calls p50 µs',
      'between calls p99 µs',
      'after idle p50 µs',
      'after idle p99 µs',
      'batch 1 000 rows/s',
      'batch 10 000 rows/s',
    ],
    [row('nba_points v1 (LinearRegression)', raw.v1), row('nba_points v2 (GBT, 60 trees)', raw.v2)],
  );
}

function section2(t) {
  return table(
    '2. Floor: noop tool on a bare SDK server (McpServer.registerTool), client-observed',
    ['transport', 'p50 ms', 'p90 ms', 'p99 ms', 'calls/s ×1', 'calls/s ×8', 'server CPU% ×8', 'bench CPU% ×8'],
    Object.values(t).map((r) => [
      r.transport,
      r.floor.sequential.latencyMs.p50,
      r.floor.sequential.latencyMs.p90,
      r.floor.sequential.latencyMs.p99,
      r.floor.sequential.callsPerSec,
      r.floor.c8.callsPerSec,
      r.floor.c8.serverCpuPct,
      r.floor.c8.benchCpuPct,
    ]),
  );
}

function section3(t) {
  const lat = table(
    `3a. predict nba_points v1 (named features from the reference CSV): latency, ${Object.values(t)[0].predict.sequential.latencyMs.n} sequential calls`,
    [
      'transport',
      'p50 ms',
      'noop p50',
      'Δ p50',
      'naive p50',
      'naive Δ',
      'p99 ms',
      'noop p99',
      'naive p99',
      'in-server latency_ms p50',
      'server CPU µs/call',
      'noop CPU µs/call',
      'naive CPU µs/call',
      'bench CPU µs/call',
      'noop bench µs/call',
    ],
    Object.values(t).map((r) => {
      const p = r.predict.sequential.latencyMs;
      const f = r.floor.sequential.latencyMs;
      const n = r.naive.sequential.latencyMs;
      return [
        r.transport,
        p.p50,
        f.p50,
        p.p50 - f.p50,
        n.p50,
        n.p50 - r.naive.floor.latencyMs.p50,
        p.p99,
        f.p99,
        n.p99,
        r.predict.sequential.serverLatencyMs,
        r.predict.sequential.serverCpuUsPerCall,
        r.floor.sequential.serverCpuUsPerCall,
        r.naive.sequential.serverCpuUsPerCall,
        r.predict.sequential.benchCpuUsPerCall,
        r.floor.sequential.benchCpuUsPerCall,
      ];
    }),
  );
  const naiveNote =
    "naive: naive_predict on the floor server (zod input and output schemas, one onnxruntime run of the same model; no routing, feature checks, logging or stats): what any predict tool pays on this SDK and machine. Served by a floor-server process of its own and measured as predict is, in a run of its own beside noop; naive Δ is over that run's noop p50.";
  const thr = table(
    '3b. predict throughput (calls/s) with 1 and 8 concurrent clients, next to noop',
    [
      'transport',
      'predict ×1',
      'noop ×1',
      'predict ×8',
      'noop ×8',
      'predict/noop ×8 (median of 6 paired rounds)',
      'server CPU% ×8',
      'bench CPU% ×8',
      '×8 means',
    ],
    Object.values(t).map((r) => [
      r.transport,
      r.predict.sequential.callsPerSec,
      r.floor.sequential.callsPerSec,
      r.predict.c8.callsPerSec,
      r.floor.c8.callsPerSec,
      r.c8Ratio,
      r.predict.c8.serverCpuPct,
      r.predict.c8.benchCpuPct,
      r.c8Mode,
    ]),
  );
  return `${lat}\n${naiveNote}\n\n${thr}`;
}

function section4(b) {
  const rows = [];
  for (const n of [10_000, 1_000]) {
    const r = b[n];
    const e = r.echo;
    const line = (label, x) => [
      n.toLocaleString('en-US'),
      label,
      x.requestBytes / 1024,
      x.idleGapMedianMs,
      x.idleGapRowsPerSec,
      x.idleGapRowsPerSec / e.idleGapRowsPerSec,
      x.sustainedRowsPerSec,
      x.sustainedRowsPerSec / e.sustainedRowsPerSec,
      x.serverLatencyMs,
    ];
    rows.push(line('echo_rows (arrays): floor', e));
    rows.push(line('batch_predict (arrays)', r.arrays));
    rows.push(line('batch_predict (named objects)', r.named));
  }
  return table(
    `4. batch_predict over stdio next to echo_rows (same rows). Per call: median of ${b[10_000].echo.calls} (10 000 rows) / ${b[1_000].echo.calls} (1 000) calls, each after an idle pause in which the server's prediction-log flush of the previous call finishes. Sustained: the same number of calls back-to-back (the flushes land inside later calls)`,
    ['rows', 'call', 'request KiB', 'per call: median ms', 'rows/s', '× echo', 'sustained rows/s', '× echo', 'in-server latency_ms'],
    rows,
  );
}

function section5(l) {
  return table(
    `5. Logging on the request path (in-process, ${l.predictions.toLocaleString('en-US')} predictions, flush timer off)`,
    ['what', 'cost'],
    [
      ['append + stats.record + metrics.record (µs/prediction)', l.perPredictionUs],
      ['  PredictionLog.append alone (µs)', l.parts.appendUs],
      ['  ServingStats.record alone (µs)', l.parts.statsRecordUs],
      ['  ServingMetrics.record alone (µs; prom-client takes the counts when scraped)', l.parts.metricsRecordUs],
      [`flush of ${l.flush.rows.toLocaleString('en-US')} rows, until written (ms)`, l.flush.ms],
      ['  per row, on the writer thread (µs)', l.flush.perRowUs],
      ['  per row, on the event loop: the hand-over (µs)', l.flush.loopPerRowUs],
      ['request path + hand-over, event-loop CPU per prediction (µs)', l.perPredictionUs + l.flush.loopPerRowUs],
      [`flush of ${l.flushSmall.rows} rows, one 200 ms tick at 3 000/s: event loop (ms, blocks)`, l.flushSmall.loopMs],
      [`  the same, until written by the writer thread (ms, does not block)`, l.flushSmall.ms],
      [`alert check (every 1 s) over a window of ${l.alertCheck.windowEvents.toLocaleString('en-US')} events (ms, blocks)`, l.alertCheck.ms],
      [`alert check over ${l.alertCheckBig.windowEvents.toLocaleString('en-US')} events = 300 s window at 2 000/s (ms, blocks)`, l.alertCheckBig.ms],
    ],
  );
}

function section6(m) {
  const row = (label, x) => [label, x?.peakMiB ?? null, x?.rssMiB ?? null];
  return table(
    "6. Peak memory (VmHWM from /proc, read at the end of each server's runs)",
    ['process', 'peak RSS MiB', 'RSS at end MiB'],
    [
      row('mlops-mcp serve --stdio (predict + batch_predict 10 000)', m.stdioServer),
      row('mlops-mcp serve --http (9 sessions)', m.httpServer),
      row('noop server, stdio', m.stdioNoop),
      row('noop server, http', m.httpNoop),
      row('bench process (clients, in-memory servers, raw ONNX, logging)', m.bench),
    ],
  );
}

function evaluate(raw, t, logging) {
  const s = t.stdio;
  const rawP50Ms = ms(raw.v1.singleUs.p50);
  const limitP50 = s.floor.sequential.latencyMs.p50 + rawP50Ms + 0.1;
  const httpMeansRatio = t.http.predict.c8.callsPerSec / t.http.floor.c8.callsPerSec;
  const out = [
    {
      target: 'predict over stdio: p50 ≤ noop p50 + raw ONNX p50 + 0.1 ms',
      measured: s.predict.sequential.latencyMs.p50,
      limit: limitP50,
      unit: 'ms',
      pass: s.predict.sequential.latencyMs.p50 <= limitP50,
    },
    {
      target: '  (reading) naive_predict against the same limit, in its own process and run beside noop',
      measured: s.naive.sequential.latencyMs.p50,
      limit: s.naive.floor.latencyMs.p50 + rawP50Ms + 0.1,
      unit: 'ms',
      pass: s.naive.sequential.latencyMs.p50 <= s.naive.floor.latencyMs.p50 + rawP50Ms + 0.1,
      reading: true,
    },
    {
      target: '  (reading) predict, with raw ONNX p50 measured after an idle gap (how a server runs it)',
      measured: s.predict.sequential.latencyMs.p50,
      limit: s.floor.sequential.latencyMs.p50 + ms(raw.v1.singleAfterIdleUs.p50) + 0.1,
      unit: 'ms',
      pass: s.predict.sequential.latencyMs.p50 <= s.floor.sequential.latencyMs.p50 + ms(raw.v1.singleAfterIdleUs.p50) + 0.1,
      reading: true,
    },
    {
      target: 'predict over stdio: p99 < 3 ms',
      measured: s.predict.sequential.latencyMs.p99,
      limit: 3,
      unit: 'ms',
      pass: s.predict.sequential.latencyMs.p99 < 3,
    },
    {
      target: 'batch_predict 10 000 rows over stdio ≥ 0.5 × echo_rows rows/s (same rows as arrays; median per call)',
      measured: s.batch[10_000].ratioArraysIdleGap,
      limit: 0.5,
      unit: '×',
      pass: s.batch[10_000].ratioArraysIdleGap >= 0.5,
    },
    {
      target: '  the same, sustained (calls back-to-back, prediction-log flush included)',
      measured: s.batch[10_000].ratioArraysSustained,
      limit: 0.5,
      unit: '×',
      pass: s.batch[10_000].ratioArraysSustained >= 0.5,
    },
    {
      target: 'HTTP, 8 concurrent clients: predict ≥ 80% of noop calls/s (median of 6 paired rounds)',
      measured: t.http.c8Ratio,
      limit: 0.8,
      unit: '×',
      pass: t.http.c8Ratio >= 0.8,
    },
    {
      target: "  (reading) the same, as the ratio of the rounds' mean calls/s (the statistic before 2026-12-01)",
      measured: httpMeansRatio,
      limit: 0.8,
      unit: '×',
      pass: httpMeansRatio >= 0.8,
      reading: true,
    },
    { target: 'logging < 20 µs per prediction', measured: logging.perPredictionUs, limit: 20, unit: 'µs', pass: logging.perPredictionUs < 20 },
  ];
  return out;
}

function targetsTable(targets) {
  return table(
    'Targets',
    ['target', 'measured', 'limit', 'unit', 'result'],
    targets.map((x) => [x.target, x.measured, x.limit, x.unit, x.reading ? (x.pass ? 'within' : 'over') : x.pass ? 'PASS' : 'FAIL']),
  );
}

try {
  await main();
} catch (e) {
  process.stderr.write(`[bench] failed: ${e?.stack ?? e}\n`);
  process.exitCode = 1;
} finally {
  cleanup();
}
// Open keep-alive sockets and unref'd timers must not keep us waiting.
process.exit(process.exitCode ?? 0);
