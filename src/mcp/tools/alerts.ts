import { z } from 'zod';
import { counted } from '../../counted.js';
import { alertOut } from '../format.js';
import { alert, alertSeverity, cursor, limit, modelName } from '../schemas.js';
import { defineTool } from '../tool.js';

export const getAlerts = defineTool({
  name: 'get_alerts',
  title: 'Recent alerts',
  description: 'Alerts raised in the last hours (default 24), newest first: promotions, rollbacks, drift, error rate, latency, system health.',
  input: {
    hours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(24)
      .describe('How far back to look, in hours (default 24)'),
    severity: alertSeverity.optional().describe('Only this severity'),
    name: modelName.optional().describe('Only alerts about this model'),
    limit,
    cursor,
  },
  output: { alerts: z.array(alert), count: z.number().int(), next_cursor: z.string().nullable() },
  effect: 'read',
  idempotent: true,
  errors: [['invalid_argument', 'a cursor this server did not give out']],
  example: { hours: 24, severity: 'warning' },
  async handler(args, ctx) {
    const { alerts, nextCursor } = await ctx.app.alerts.list(args);
    const lines = alerts.map((a) => `${a.createdAt} [${a.severity}] ${a.type}: ${a.message}`);
    const head = alerts.length ? `${counted(alerts.length, 'alert')} in the last ${args.hours} h, newest first:` : `No alerts in the last ${args.hours} h.`;
    return {
      data: { alerts: alerts.map(alertOut), count: alerts.length, next_cursor: nextCursor },
      summary: [head, ...lines, ...(nextCursor ? ['(more: pass next_cursor)'] : [])].join('\n'),
    };
  },
});

export const alertTools = [getAlerts];
