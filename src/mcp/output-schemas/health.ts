import { z } from 'zod';
import { COMPONENT_STATUSES, COMPONENTS } from '../../health/components.js';

const status = z.enum(COMPONENT_STATUSES);

/** What health_check answers. */
export const healthCheckOutput = {
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
};
