import { z } from 'zod';
import { COMPONENTS } from '../../health/components.js';
import { healthAnswer } from '../../wire/health.js';
import { healthCheckOutput } from '../output-schemas/health.js';
import { defineTool } from '../tool.js';

export const healthCheck = defineTool({
  name: 'health_check',
  title: 'System health',
  description:
    'Checks every component of the ML system (database, registry, ONNX runtime, serving of production models, A/B routing, drift monitoring, prediction metrics, storage), or one. Overall status is unhealthy if a critical component is down, degraded if any component is not healthy.',
  input: { component: z.enum(COMPONENTS).optional().describe('Check only this component') },
  output: healthCheckOutput,
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
