import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { AppContext } from '../context.js';

const userText = (text: string) => ({ messages: [{ role: 'user' as const, content: { type: 'text' as const, text } }] });

/** Prompts that walk an assistant through the operations guide's jobs with our tools. */
export function registerPrompts(server: McpServer, app: AppContext): void {
  const modelNames = async (value: string) => (await app.registry.modelNames()).filter((n) => n.startsWith(value ?? ''));

  server.registerPrompt(
    'health_report',
    {
      title: 'ML system health report',
      description: 'Check every component and recent alerts, and write a short health report for an SRE',
      argsSchema: { hours: z.string().optional().describe('How many hours of alerts to review (default 24)') },
    },
    ({ hours }) =>
      userText(
        [
          'Write a health report of the ML system served by mlops-mcp.',
          '1. Call health_check (no arguments) for every component.',
          `2. Call get_alerts with hours ${hours ?? '24'}; then again with severity "critical".`,
          '3. Call list_models with stage "production" to see what is being served.',
          'Report: the overall status first (healthy / degraded / unhealthy) and how many components are healthy; then each component that is not healthy with its detail and what to do about it; then the critical and warning alerts, grouped by type; then the production versions. Keep it short: one line per healthy component at most. If something is unhealthy, suggest the next tool call (for a production model that fails to load, consider rollback_model with dry_run: true).',
        ].join('\n'),
      ),
  );

  server.registerPrompt(
    'safe_promotion',
    {
      title: 'Promote a model version safely',
      description: 'Review, dry-run, confirm, promote, watch, and roll back on trouble',
      argsSchema: {
        name: completable(z.string().describe('Model name'), modelNames),
        version: z.string().describe('Version to promote'),
        target_stage: z.string().optional().describe('staging or production (default production)'),
      },
    },
    ({ name, version, target_stage }) => {
      const stage = target_stage ?? 'production';
      return userText(
        [
          `Promote ${name} ${version} to ${stage} safely, step by step. Stop and tell me if any step fails.`,
          `1. Call get_model with name "${name}" and version "${version}", and get_model with name "${name}" (the current production version). Compare their metrics and signatures; warn me if the candidate's metrics are worse or its features differ.`,
          `2. Call promote_model with name "${name}", version "${version}", target_stage "${stage}" and dry_run: true. Show me exactly which versions would change stage.`,
          '3. Ask me to confirm and for a reason. Do not go on without my explicit yes.',
          `4. Call promote_model again with dry_run: false and my reason.`,
          '5. Call health_check and get_alerts (hours 1) to confirm the system is healthy after the change.',
          `6. If anything is unhealthy, propose rollback_model for "${name}" (dry_run: true first) and wait for my yes.`,
        ].join('\n'),
      );
    },
  );

  server.registerPrompt(
    'investigate_drift',
    {
      title: 'Investigate feature drift',
      description: 'Reference → check → report → next steps (retrain, update the reference) for one model',
      argsSchema: {
        name: completable(z.string().describe('Model name'), modelNames),
        current_csv: z.string().optional().describe('CSV of current data; default: the last 24 hours of predictions'),
      },
    },
    ({ name, current_csv }) =>
      userText(
        [
          `Investigate whether the inputs of ${name} drifted, step by step.`,
          `1. Call get_drift_report with name "${name}". If it answers not_found, there may be no reference: ask me for the training data and call set_drift_reference (csv_path or rows), with dry_run: true first.`,
          `2. Call detect_drift with name "${name}", ${current_csv ? `csv_path "${current_csv}"` : 'window {"since_hours": 24}'}, correction "fdr" and include_chart: true.`,
          '3. Report: the verdict (dataset drift or not, share of drifted features), then each drifted feature with its KS statistic, adjusted p-value and PSI, most drifted first; show the chart. PSI above 0.25 is a large shift, 0.1–0.25 moderate.',
          `4. Call get_traffic_config with name "${name}" and get_alerts with name "${name}" to see whether the drift coincides with worse errors or latency.`,
          '5. Recommend next steps: if the shift is real and lasting, retrain on recent data and register the new version (then safe_promotion); if the new data is the new normal and the model still performs, update the reference with set_drift_reference; if it looks like a data bug (a feature stuck at one value, a unit change), say which upstream feature to check. Ask me before changing anything.',
        ].join('\n'),
      ),
  );

  server.registerPrompt(
    'evaluate_ab_test',
    {
      title: 'Is the new model better?',
      description: 'Outcomes → per-variant metrics with intervals → a verdict with its p-value → promote, wait, or stop the test',
      argsSchema: {
        name: completable(z.string().describe('Model name'), modelNames),
        alpha: z.string().optional().describe('Significance level (default 0.05)'),
        min_effect: z.string().optional().describe("Smallest difference worth detecting, in the metric's units (default 2% of the control's value)"),
      },
    },
    ({ name, alpha, min_effect }) =>
      userText(
        [
          `Decide whether the challenger in ${name}'s A/B test predicts better than the control, step by step. Stop and tell me if a step fails.`,
          `1. Call get_traffic_config with name "${name}": which versions share the traffic, with which weights, since when. If there is no split, say so and suggest configure_ab_test (dry_run: true first).`,
          `2. Call get_model_performance with name "${name}"${alpha ? `, alpha ${alpha}` : ''}${min_effect ? `, min_effect ${min_effect}` : ''}. If a variant has no or few outcomes, explain that outcomes are recorded with record_outcomes ({prediction_id, actual} for the predictions each variant served, or a CSV) and ask me for them; do not guess.`,
          '3. Report, for each variant: its metric (MAE for regressors, accuracy for classifiers) with its 95% interval and n; then the challenger − control difference with its interval and p-value, and the verdict. Say plainly what the verdict means: "better" or "worse" only when the difference is significant at alpha; "not yet" means the data cannot tell yet — give outcomes_needed (the outcomes still to collect, at the current split, to detect min_effect with 80% power). Do not call a difference real because it looks large, and do not stop a test early because of one peek at the p-value.',
          '4. Compare each version with its registered baseline (baseline in the answer) and mention performance_degradation or model_accuracy_degraded alerts from get_alerts with name and hours 168.',
          `5. Recommend one of: promote the challenger (safe_promotion, with dry_run: true first) when it is better; keep the control and end the split (configure_ab_test giving the control all the weight) when it is worse; keep collecting outcomes when not yet. Ask me before changing anything.`,
        ].join('\n'),
      ),
  );
}
