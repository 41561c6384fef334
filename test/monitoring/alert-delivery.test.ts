import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { AlertDelivery } from '../../src/monitoring/alert-delivery.js';
import { alertSenders } from '../../src/monitoring/alert-senders.js';
import type { AlertDraft } from '../../src/monitoring/alert-types.js';
import { describeEachEngine } from '../store/contract/engines.js';

const silent = pino({ level: 'silent' });

/** A webhook receiver: what it was sent, in order; `down` makes it refuse with 503. */
async function receiver() {
  const got: Array<Record<string, unknown>> = [];
  let down = true;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (down) return void res.writeHead(503).end('not now');
      got.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    up() {
      down = false;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closing.splice(0)) await c();
});

const draft = (i: number, severity: AlertDraft['severity']): AlertDraft => ({
  type: 'high_latency',
  severity,
  name: 'm',
  version: null,
  message: `alert ${i}`,
  details: { i },
});

describeEachEngine('alerts pushed through the alert outbox', (engine) => {
  it('delivers each alert at or above the minimum severity once and in order, holding them while the receiver is down', { timeout: 30_000 }, async () => {
    const hook = await receiver();
    closing.push(hook.close);
    const store = await (await engine.database()).open({ alertDelivery: { targets: ['webhook'], minSeverity: 'warning' } });
    const delivery = new AlertDelivery({
      store: store.deliveries,
      leader: store.deliveryLeader,
      senders: alertSenders({ webhookUrl: hook.url, statusPage: () => 'http://mlops.example/' }),
      logger: silent,
      intervalMs: 100,
    });
    closing.push(() => delivery.stop());
    delivery.start();
    const severities = ['warning', 'info', 'critical', 'warning', 'info', 'critical'] as const;
    const raised = [];
    for (let i = 0; i < severities.length; i++) raised.push(await store.alerts.insert(draft(i, severities[i])));
    // One raised inside a change's transaction, and one through an episode.
    await store.alerts.raiseOnce('high_error_rate\0m', { ...draft(6, 'critical'), type: 'high_error_rate' }, 60_000);
    await new Promise((r) => setTimeout(r, 500)); // several rounds against a receiver that refuses
    expect(hook.got).toEqual([]);
    const backlog = (await store.deliveries.backlog())[0];
    expect(backlog).toMatchObject({ target: 'webhook', pending: 5, lastError: expect.stringContaining('503') });
    hook.up();
    for (const end = Date.now() + 10_000; hook.got.length < 5 && Date.now() < end;) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500)); // nothing more comes
    expect(hook.got.map((a) => a.message)).toEqual(['alert 0', 'alert 2', 'alert 3', 'alert 5', 'alert 6']);
    expect(hook.got[0]).toEqual({
      id: raised[0].id,
      type: 'high_latency',
      severity: 'warning',
      model: 'm',
      version: null,
      message: 'alert 0',
      details: { i: 0 },
      created_at: raised[0].createdAt,
      status_page: 'http://mlops.example/',
    });
    expect(await store.deliveries.backlog()).toEqual([]);
    expect((await delivery.status()).delivered).toBe(5);
  });

  it('queues nothing when no receiver is configured', async () => {
    const store = await (await engine.database()).open();
    await store.alerts.insert(draft(0, 'critical'));
    expect(await store.deliveries.backlog()).toEqual([]);
  });
});
