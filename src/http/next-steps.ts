import type { NextStep } from '../errors.js';

/**
 * A next step in the words of an application scoring over REST: a route it can request, or
 * what to ask of whoever operates the models (registering, promoting and rolling back are MCP
 * tools, not REST routes).
 */
export function restStep(step: NextStep): string {
  switch (step.kind) {
    case 'list_models':
      return 'see the registered models with GET /api/v1/models';
    case 'register_model':
      return 'ask whoever operates the models to register it';
    case 'show_model':
      return `see its versions and stages with GET /api/v1/models/${encodeURIComponent(step.name)}`;
    case 'promote':
      return `ask whoever operates the models to promote a version of ${step.name}`;
    case 'rollback':
      return `ask whoever operates the models to roll ${step.name} back`;
    case 'archive_with_force':
      return `ask whoever operates the models to archive it`;
    case 'move_traffic':
      return `ask whoever operates the models to change ${step.name}'s traffic split`;
    case 'pass_version':
      return 'name a version (?version=…)';
    case 'detect_drift':
      return 'ask whoever operates the models to run a drift check';
    case 'set_drift_reference':
      return `ask whoever operates the models to set a drift reference for ${step.name}`;
    case 'check_health':
      return 'the status page (GET /) and GET /metrics (mlops_mcp_component_status) show which component fails';
  }
}
