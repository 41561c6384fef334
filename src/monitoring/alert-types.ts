export const ALERT_SEVERITIES = ['critical', 'warning', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_TYPES = [
  'feature_drift',
  'high_error_rate',
  'high_latency',
  'model_promoted',
  'model_rolled_back',
  'model_archived',
  'traffic_changed',
  'system_unhealthy',
  'performance_degradation',
  'model_accuracy_degraded',
  'cache_hit_rate_low',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

/** An alert about to be raised. */
export interface AlertDraft {
  type: AlertType;
  severity: AlertSeverity;
  name: string | null;
  version: string | null;
  message: string;
  details?: Record<string, unknown> | undefined;
}

export interface Alert extends AlertDraft {
  id: number;
  createdAt: string;
}
