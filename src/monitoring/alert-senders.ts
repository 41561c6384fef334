import type { Alert } from './alert-types.js';
import type { DeliveryTarget } from './ports.js';

/** How long a receiver has to answer one alert before the attempt counts as failed. */
const SEND_TIMEOUT_MS = 5000;

/** Sends one alert to a receiver; throws (with the receiver's answer) when it is not taken. */
export type AlertSender = (alert: Alert) => Promise<void>;

/**
 * The JSON a webhook receives for one alert: what happened, to what, and where to look. `id` is
 * the alert's own: a receiver that sees one twice (a push retried after an answer that never
 * arrived) can tell.
 */
export function webhookPayload(alert: Alert, statusPage: string | null): Record<string, unknown> {
  return {
    id: alert.id,
    type: alert.type,
    severity: alert.severity,
    model: alert.name,
    version: alert.version,
    message: alert.message,
    details: alert.details ?? null,
    created_at: alert.createdAt,
    status_page: statusPage,
  };
}

/**
 * One alert as Alertmanager's v2 API takes it (POST /api/v2/alerts): labels identify it (the
 * alert name is its type, as the shipped Prometheus rules name theirs), annotations say it.
 * No end time: Alertmanager resolves it after its resolve_timeout, as an alert raised once.
 */
export function alertmanagerPayload(alert: Alert, statusPage: string | null): Array<Record<string, unknown>> {
  const labels: Record<string, string> = { alertname: alert.type, severity: alert.severity, service: 'mlops-mcp', alert_id: String(alert.id) };
  if (alert.name) labels.model = alert.name;
  if (alert.version) labels.version = alert.version;
  return [
    {
      labels,
      annotations: { summary: alert.message, ...(statusPage ? { status_page: statusPage } : {}) },
      startsAt: alert.createdAt,
      ...(statusPage ? { generatorURL: statusPage } : {}),
    },
  ];
}

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}: ${(await res.text()).slice(0, 200)}`);
  await res.body?.cancel();
}

/** The senders for the configured receivers, each posting an alert in its receiver's format. */
export function alertSenders(options: {
  webhookUrl?: string | undefined;
  alertmanagerUrl?: string | undefined;
  statusPage: () => string | null;
}): Map<DeliveryTarget, AlertSender> {
  const senders = new Map<DeliveryTarget, AlertSender>();
  const { webhookUrl, alertmanagerUrl, statusPage } = options;
  if (webhookUrl) senders.set('webhook', (alert) => post(webhookUrl, webhookPayload(alert, statusPage())));
  if (alertmanagerUrl)
    senders.set('alertmanager', (alert) => post(`${alertmanagerUrl.replace(/\/+$/, '')}/api/v2/alerts`, alertmanagerPayload(alert, statusPage())));
  return senders;
}
