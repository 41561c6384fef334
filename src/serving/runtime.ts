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

/**
 * An onnxruntime error as a short line for a caller: its messages carry source paths of its
 * build machine (/onnxruntime_src/…) and can quote raw bytes of the model file. Its lines are
 * joined (the first often only introduces the next, as "Got invalid dimensions for input: x for
 * the following indices" before "index: 0 Got: 3 Expected: 1"), with `hide` (a directory of ours)
 * written as `as`, without either, at most 300 characters.
 */
export function onnxruntimeMessage(e: unknown, hide?: { path: string; as: string }): string {
  let line = (e instanceof Error ? e.message : String(e))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  if (hide) line = line.split(hide.path).join(hide.as);
  return line
    .replace(/\/onnxruntime_src\/\S*\s*/g, '')
    .replace(/[^\x20-\x7e]+/g, '?')
    .slice(0, 300);
}
