// onnxruntime runs in model processes (model-host-main.ts) and, for inline models, in the
// server (inline-models.ts); ort-session.ts sets ORT_DISABLE_TELEMETRY before it loads.

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
