import { z } from 'zod';
import { auditEntry, versionSummary } from '../schemas.js';

export { stageChangeOutput } from '../schemas.js';

/** What list_models answers. */
export const listModelsOutput = {
  versions: z.array(versionSummary),
  count: z.number().int(),
  next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
};

/** What get_model_history answers. */
export const modelHistoryOutput = { name: z.string(), entries: z.array(auditEntry), next_cursor: z.string().nullable() };
