import type { Logger } from '../logger.js';
import type { Leadership } from '../mlflow/ports.js';
import type { AlertSender } from './alert-senders.js';
import type { AlertDeliveryStore, DeliveryBacklog, DeliveryTarget } from './ports.js';

/** Retry waits: doubling from a second, at most five minutes. */
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 5 * 60_000;

export interface DeliveryStatus {
  /** Whether this server pushes (else another sharing the database does). */
  leader: boolean;
  backlog: DeliveryBacklog[];
  delivered: number;
}

/**
 * Pushes the alert outbox: per receiver, the oldest undelivered alert first, one at a time, so a
 * receiver gets them in the order they were raised. A failure keeps that alert (and those after
 * it) for a retry after a backoff; a delivery is taken off once the receiver answered 2xx. It
 * runs on a timer, apart from requests, and on one server at a time (the lead).
 */
export class AlertDelivery {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private leading = false;
  private delivered = 0;

  constructor(
    private readonly deps: {
      store: AlertDeliveryStore;
      leader: Leadership;
      senders: ReadonlyMap<DeliveryTarget, AlertSender>;
      logger: Logger;
      intervalMs: number;
      now?: () => number;
    },
  ) {}

  get targets(): DeliveryTarget[] {
    return [...this.deps.senders.keys()];
  }

  start(): void {
    if (!this.deps.senders.size) return;
    this.timer ??= setInterval(() => void this.deliverNow().catch(() => undefined), this.deps.intervalMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One round for every receiver; concurrent calls share it. */
  deliverNow(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = null));
    return this.running;
  }

  async status(): Promise<DeliveryStatus> {
    this.leading = await this.deps.leader.holds();
    return { leader: this.leading, backlog: await this.deps.store.backlog(), delivered: this.delivered };
  }

  private async round(): Promise<void> {
    this.leading = await this.deps.leader.holds();
    if (!this.leading) return;
    for (const [target, send] of this.deps.senders) await this.deliver(target, send);
  }

  private async deliver(target: DeliveryTarget, send: AlertSender): Promise<void> {
    const now = this.deps.now ?? Date.now;
    for (;;) {
      const batch = await this.deps.store.pending(target, 20);
      if (!batch.length) return;
      for (const d of batch) {
        if (Date.parse(d.nextAttemptAt) > now()) return; // the head waits out its backoff, and the rest behind it
        try {
          await send(d.alert);
        } catch (e) {
          const wait = Math.min(FIRST_RETRY_MS * 2 ** d.attempts, LAST_RETRY_MS);
          const message = e instanceof Error ? e.message : String(e);
          await this.deps.store.failed(d.id, message, new Date(now() + wait).toISOString());
          this.deps.logger.warn({ target, alert: d.alert.id, attempts: d.attempts + 1, err: message }, 'alert push failed; will retry');
          return;
        }
        await this.deps.store.delivered(d.id);
        this.delivered++;
      }
    }
  }
}
