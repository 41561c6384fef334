import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { DomainError } from '../errors.js';
import { isWithin, openWithin } from '../files.js';
import { checkRefusal } from '../serving/inspect.js';
import { ModelCheckError, type ModelChecker } from '../serving/model-check.js';
import { ExternalDataSpecError, SELF_CONTAINED_ADVICE, type ExternalInitializer } from '../serving/onnx-external.js';
import { ExternalDataError, storesExternally } from '../serving/onnx-proto.js';

/** Data files one model may spread its weights over (onnx's all_tensors_to_one_file=False writes one per tensor). */
export const MAX_EXTERNAL_FILES = 10_000;

/** Where the model was read from: its real path, already confined to the allowed directories. */
export interface ModelSource {
  realPath: string;
}

export interface InlinedModel {
  bytes: Uint8Array;
  files: Array<{ location: string; bytes: number }>;
}

/**
 * The model with the external data of its main graph's initializers read from the files beside
 * it and put inside; null when it has none. A data file must lie in the model's own directory (or
 * below it) after every symlink is resolved: no absolute location, no "..", no symlink out; it
 * must hold the bytes each tensor declares, and the model with them must fit in `maxBytes`
 * (MLOPS_MCP_MAX_MODEL_MB). External tensors anywhere else stay refused. `source` null (an MLflow
 * import, one file) refuses external data outright. Errors are invalid_model, naming the tensor.
 * The model's bytes are walked and rewritten by `walker` (a model check process), not here.
 */
export async function inlineExternalWeights(
  model: Uint8Array,
  source: ModelSource | null,
  maxBytes: number,
  displayName: string,
  walker: Pick<ModelChecker, 'externalInitializers' | 'inlineExternalData'>,
): Promise<InlinedModel | null> {
  let refs: ExternalInitializer[];
  try {
    refs = await walker.externalInitializers(model);
  } catch (e) {
    if (e instanceof ModelCheckError) throw checkRefusal(displayName, e);
    if (e instanceof ExternalDataError) throw refused(displayName, `${e.message}: only the main graph's initializers may keep their data outside the file`);
    if (e instanceof ExternalDataSpecError) throw refused(displayName, e.message);
    // Malformed bytes: the inspection that follows says what is wrong with them.
    return null;
  }
  if (!refs.length) return null;
  if (!source) throw refused(displayName, `${storesExternally(refs[0])}, and an import is one file`);

  const dir = path.dirname(source.realPath);
  const byLocation = new Map<string, ExternalInitializer[]>();
  for (const ref of refs) {
    const problem = locationProblem(ref.location);
    if (problem) throw refused(displayName, `${storesExternally(ref)}: ${problem}. The data files must lie beside the model`);
    const list = byLocation.get(ref.location);
    if (list) list.push(ref);
    else byLocation.set(ref.location, [ref]);
  }
  if (byLocation.size > MAX_EXTERNAL_FILES)
    throw refused(displayName, `spreads its external data over ${byLocation.size} files, more than the ${MAX_EXTERNAL_FILES} read for one model`);

  try {
    // Sizes first, one file open at a time: the limit refuses before a byte of data is read.
    const sizes = new Map<string, number>();
    let total = model.length;
    for (const [location, list] of byLocation) {
      const size = await withDataFile(dir, list[0], displayName, async (_, size) => size);
      sizes.set(location, size);
      for (const ref of list) total += inRange(ref, size, displayName);
    }
    if (total > maxBytes) {
      throw refused(displayName, `with its external data inlined would be ${mib(total)} MiB, over the limit of ${mib(maxBytes)} MiB (MLOPS_MCP_MAX_MODEL_MB)`);
    }
    const data = new Map<ExternalInitializer, Uint8Array>();
    for (const list of byLocation.values()) {
      await withDataFile(dir, list[0], displayName, async (handle, size) => {
        for (const ref of list) data.set(ref, await readRange(handle, ref.offset, inRange(ref, size, displayName)));
      });
    }
    const bytes = await walker.inlineExternalData(
      model,
      refs.map((ref) => data.get(ref) as Uint8Array),
    );
    return { bytes, files: [...sizes].map(([location, size]) => ({ location, bytes: size })) };
  } catch (e) {
    if (e instanceof ModelCheckError) throw checkRefusal(displayName, e);
    if (e instanceof ExternalDataSpecError) throw refused(displayName, e.message);
    throw e;
  }
}

/** The byte count of a tensor's external data, which must lie inside its file of `size` bytes. */
function inRange(ref: ExternalInitializer, size: number, displayName: string): number {
  const length = ref.length ?? size - ref.offset;
  if (length < 0 || ref.offset + length > size) {
    throw refused(displayName, `${storesExternally(ref)}, bytes ${ref.offset}–${ref.offset + length} of it, beyond the end of that ${size}-byte file`);
  }
  return length;
}

/** Why a location cannot name a file beside the model, or null when it can. */
function locationProblem(location: string): string | null {
  if (location.includes('\0')) return 'its location contains a NUL byte';
  if (path.isAbsolute(location) || /^[A-Za-z]:/.test(location) || location.startsWith('\\')) return 'its location is absolute';
  if (location.split(/[\\/]/).some((part) => part === '..')) return 'its location climbs out with ".."';
  return null;
}

/** Runs `use` with a data file under the model's real directory, refusing one whose real path leads elsewhere; closes it after. */
async function withDataFile<T>(dir: string, ref: ExternalInitializer, displayName: string, use: (handle: FileHandle, size: number) => Promise<T>): Promise<T> {
  let real: string;
  try {
    real = await fs.realpath(path.join(dir, ref.location));
  } catch {
    throw refused(displayName, `${storesExternally(ref)}, and no such file lies beside it`);
  }
  const outside = () =>
    refused(displayName, `${storesExternally(ref)}, and that file leads out of the model's directory (a symlink). The data files must lie beside the model`);
  if (!isWithin(real, [dir])) throw outside();
  const handle = await openWithin(real, [dir], {
    unopened: () => refused(displayName, `${storesExternally(ref)}, and that file could not be opened (it changed while being read, or is not readable)`),
    notFile: () => refused(displayName, `${storesExternally(ref)}, and that is not a regular file`),
    outside,
  });
  try {
    return await use(handle, (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

async function readRange(handle: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  for (let at = 0; at < length;) {
    const { bytesRead } = await handle.read(out, at, length - at, offset + at);
    if (bytesRead === 0) throw new ExternalDataSpecError(`a data file ended before its ${length} bytes were read (it changed while being read)`);
    at += bytesRead;
  }
  return out;
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

const refused = (displayName: string, why: string) => new DomainError('invalid_model', `${displayName} ${why}; ${SELF_CONTAINED_ADVICE}.`);
