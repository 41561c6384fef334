import { z } from 'zod';
import { COMPONENT_STATUSES, COMPONENTS } from '../../health/health.js';
import { healthAnswer } from '../../wire/health.js';
import { defineTool } from '../tool.js';

const status = z.enum(COMPONENT_STATUSES);

export const healthCheck = defineTool({
  name: 'health_check',
  title: 'System health',
  description:
    'Checks every component of the ML system (database, registry, ONNX runtime, serving of production models, A/B routing, drift monitoring, prediction metrics, storage), or one. Overall status is unhealthy if a critical component is down, degraded if any component is not healthy.',
  input: { component: z.enum(COMPONENTS).optional().describe('Check only this component') },
  output: {
    status,
    healthy_components: z.number().int(),
    total_components: z.number().int(),
    components: z.array(
      z.object({
        name: z.enum(COMPONENTS),
        status,
        critical: z.boolean().describe('A critical component being unhealthy makes the system unhealthy'),
        detail: z.string(),
        latency_ms: z.number().describe('Time this check took'),
      }),
    ),
    checked_at: z.string(),
  },
  effect: 'read',
  idempotent: true,
  errors: [],
  example: { component: 'model_serving' },
  async handler(args, ctx) {
    const report = await ctx.app.health.check(args.component);
    const mark = { healthy: '✓', degraded: '!', unhealthy: '✗' } as const;
    const lines = report.components.map((c) => `${mark[c.status]} ${c.name}: ${c.status} — ${c.detail} (${c.latencyMs} ms)`);
    return {
      data: healthAnswer(report),
      summary: `System ${report.status}: ${report.healthyComponents}/${report.totalComponents} components healthy\n${lines.join('\n')}`,
    };
  },
});

export const healthTools = [healthCheck];
