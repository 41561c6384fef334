import type { ToolDefinition } from '../tool.js';
import { alertTools } from './alerts.js';
import { driftTools } from './drift.js';
import { healthTools } from './health.js';
import { mlflowTools } from './mlflow.js';
import { performanceTools } from './performance.js';
import { registryTools } from './registry.js';
import { servingTools } from './serving.js';
import { uiTools } from './ui.js';

/** Every tool the server offers, in the order clients list them. */
export const allTools: readonly ToolDefinition[] = [
  ...healthTools,
  ...registryTools,
  ...servingTools,
  ...driftTools,
  ...performanceTools,
  ...uiTools,
  ...mlflowTools,
  ...alertTools,
];
