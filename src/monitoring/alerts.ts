import { z } from 'zod';
import { decodeCursor, page } from '../paging.js';
import type { AlertStore } from './ports.js';
import type { Alert, AlertDraft, AlertSeverity } from './alert-types.js';

export interface AlertQuery {
  hours: number;
  severity?: AlertSeverity | undefined;
  name?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

const alertCursor = z.object({ id: z.number().int() });

/** Raises and lists alerts; stage changes write theirs inside their own transaction. */
export class AlertService {
  constructor(
    private readonly store: AlertStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  raise(alert: AlertDraft): Promise<Alert> {
    return this.store.insert(alert);
  }

  /** See AlertStore.raiseOnce: an episode seen by several servers raises one alert. */
  raiseOnce(key: string, alert: AlertDraft | null, quietMs: number): Promise<Alert | null> {
    return this.store.raiseOnce(key, alert, quietMs);
  }

  /** See AlertStore.endEpisode. */
  endEpisode(key: string): Promise<void> {
    return this.store.endEpisode(key);
  }

  async list(query: AlertQuery): Promise<{ alerts: Alert[]; nextCursor: string | null }> {
    const since = new Date(this.now().getTime() - query.hours * 3_600_000).toISOString();
    const beforeId = query.cursor === undefined ? undefined : decodeCursor(query.cursor, alertCursor).id;
    const rows = await this.store.list({ since, severity: query.severity, name: query.name, beforeId, limit: query.limit + 1 });
    const { items, nextCursor } = page(rows, query.limit, (a) => ({ id: a.id }));
    return { alerts: items, nextCursor };
  }
}
