import type { NextStep } from '../errors.js';

/** A next step in the words of an MCP client: the tool that takes it. */
export function toolStep(step: NextStep): string {
  switch (step.kind) {
    case 'list_models':
      return 'call list_models to see the registered models';
    case 'register_model':
      return 'add one with register_model';
    case 'show_model':
      return `see the versions of ${step.name} and their stages with get_model`;
    case 'promote':
      return 'promote a version with promote_model';
    case 'rollback':
      return 'roll back with rollback_model';
    case 'archive_with_force':
      return 'archive it with archive_model and force: true';
    case 'move_traffic':
      return `move its weight elsewhere with configure_ab_test (get_traffic_config shows ${step.name}'s split)`;
    case 'pass_version':
      return 'pass version';
    case 'detect_drift':
      return 'run detect_drift first';
    case 'set_drift_reference':
      return `set one for ${step.name} with set_drift_reference (e.g. from the training CSV)`;
    case 'check_health':
      return 'see which component fails with health_check';
  }
}
