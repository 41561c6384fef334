import { DomainError, failedPrecondition, type NextStep } from '../errors.js';
import { ArtifactDamagedError } from '../registry/artifacts.js';
import type { ModelVersion } from '../registry/types.js';
import { ModelProcessError, ModelRunFailure } from './model-host.js';
import { limitAdvice, ModelLimitError } from './model-limits.js';
import { ModelLoadError } from './model-pool.js';
import { ExternalDataError } from './onnx-proto.js';
import { onnxruntimeMessage } from './runtime.js';

/** A version that failed to load or run, as an error that says what to do (and no path into the server's disk). */
export function servingFailure(version: ModelVersion, failure: unknown, artifactsDir: string): DomainError {
  const loading = failure instanceof ModelLoadError;
  const e = loading ? failure.cause : failure;
  if (e instanceof DomainError) return e;
  const what = `${version.name} ${version.version}`;
  const instead: NextStep[] = [
    { kind: 'rollback', name: version.name },
    { kind: 'promote', name: version.name },
  ];
  if (e instanceof ModelLimitError) {
    const stopped = e.limit === 'run_time' || e.limit === 'load_time' ? ': it was stopped and its model process replaced' : loading ? ' to load' : '';
    return new DomainError('invalid_model', `${what} ${e.message}${stopped}; ${limitAdvice(e.limit)}.`, instead);
  }
  if (e instanceof ModelProcessError && e.signal) {
    return new DomainError('invalid_model', `${what} failed: ${e.message}; a fresh one took its place.`, instead);
  }
  if (e instanceof ExternalDataError) {
    return failedPrecondition(
      `${what} cannot be served: it ${e.message}, and was registered before mlops-mcp stored such data inside the artifact. Register the model again with its data files beside it (they are inlined), or a self-contained export (onnx.save_model(model, path, save_as_external_data=False)), and promote it.`,
      [{ kind: 'rollback', name: version.name }],
    );
  }
  if (e instanceof ArtifactDamagedError) {
    return failedPrecondition(`${what} cannot be served: its ${e.message}. Its ONNX file can be registered again.`, instead);
  }
  const msg = onnxruntimeMessage(e, { path: artifactsDir, as: 'artifacts' });
  if (e instanceof ModelRunFailure && !loading) {
    return new DomainError(
      'invalid_model',
      `${what} failed to run in onnxruntime on this input (${msg}); an export that takes these inputs can be registered.`,
      [
        { kind: 'show_model', name: version.name },
        { kind: 'rollback', name: version.name },
      ],
    );
  }
  return new DomainError('internal', `${what} failed to load in onnxruntime (${msg}); if it persists, roll back or register the version again.`, [
    { kind: 'check_health' },
  ]);
}
