/** What a model may take of the machine (MODEL_* in config.ts): each limit is named in the error that enforces it. */
export interface ModelLimits {
  /** One run (a predict's, a batch's share of one version, a probe). */
  runTimeoutMs: number;
  /** Starting a model process, and loading one model into it. */
  loadTimeoutMs: number;
  /** A model process's data segment: Node, onnxruntime, its sessions and every tensor of a run. */
  memoryMb: number;
  /** A run's outputs, all together. */
  maxOutputBytes: number;
}

export type ModelLimit = 'run_time' | 'load_time' | 'memory' | 'output';

const MIB = 1024 * 1024;

/** A model went past one of the limits; the message says which, by its variable, and its value. */
export class ModelLimitError extends Error {
  constructor(
    readonly limit: ModelLimit,
    limits: ModelLimits,
    /** What the model process said (onnxruntime's words), for the log. */
    readonly detail?: string,
  ) {
    super(describeLimit(limit, limits));
  }
}

function describeLimit(limit: ModelLimit, l: ModelLimits): string {
  switch (limit) {
    case 'run_time':
      return `ran longer than MODEL_RUN_TIMEOUT_MS (${l.runTimeoutMs} ms)`;
    case 'load_time':
      return `took longer than MODEL_LOAD_TIMEOUT_MS (${l.loadTimeoutMs} ms) to load`;
    case 'memory':
      return `needed more memory than MODEL_MEMORY_MB (${l.memoryMb} MiB) allows a model process`;
    case 'output':
      return `answered more than MODEL_MAX_OUTPUT_MB (${Math.round(l.maxOutputBytes / MIB)} MiB) of outputs`;
  }
}

/** What to do about a limit, for whoever operates the server. */
export function limitAdvice(limit: ModelLimit): string {
  if (limit === 'output') return 'raise MODEL_MAX_OUTPUT_MB if its outputs are meant to be that large';
  const variable = limit === 'run_time' ? 'MODEL_RUN_TIMEOUT_MS' : limit === 'load_time' ? 'MODEL_LOAD_TIMEOUT_MS' : 'MODEL_MEMORY_MB';
  return `raise ${variable} if the model legitimately needs more`;
}
