/** The components health_check reports and their statuses: Node-free, for the tools' output schemas the dashboard's types come from. */

export const COMPONENT_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];

export const COMPONENTS = [
  'database',
  'model_registry',
  'model_runtime',
  'model_serving',
  'ab_routing',
  'drift_monitoring',
  'prediction_metrics',
  'model_performance',
  'storage',
  'mlflow',
  'alert_delivery',
] as const;
export type ComponentName = (typeof COMPONENTS)[number];
