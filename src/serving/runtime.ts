/** onnxruntime-node, loaded on first use with its telemetry switched off. */
export type OnnxRuntime = typeof import('onnxruntime-node');

/**
 * Loads onnxruntime-node. Telemetry is on by default in 1.30 (an empty /tmp/mat-debug-<pid>.log
 * per process and an event database under ~/.cache); the native library reads
 * ORT_DISABLE_TELEMETRY when it loads, so it is set before the first import. Node's module
 * cache makes later calls cheap.
 */
export function loadOnnxRuntime(): Promise<OnnxRuntime> {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  return import('onnxruntime-node');
}
