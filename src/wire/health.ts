import type { HealthReport } from '../health/health.js';

/** A health report in the snake_case shape health_check answers with. */
export const healthAnswer = (r: HealthReport) => ({
  status: r.status,
  healthy_components: r.healthyComponents,
  total_components: r.totalComponents,
  components: r.components.map((c) => ({ name: c.name, status: c.status, critical: c.critical, detail: c.detail, latency_ms: c.latencyMs })),
  checked_at: r.checkedAt,
});
