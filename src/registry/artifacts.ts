import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** A copy of a source file in the artifact store's temp area, hashed, not yet visible. */
export interface StagedArtifact {
  tempPath: string;
  sha256: string;
  bytes: number;
}

/** What is wrong with a stored artifact, if anything. */
export type ArtifactState = 'ok' | 'missing' | 'wrong_size' | 'altered';

/** An artifact that is not the bytes it was registered with (deleted, truncated, overwritten). */
export class ArtifactDamagedError extends Error {
  override name = 'ArtifactDamagedError';
  constructor(
    readonly sha256: string,
    readonly state: Exclude<ArtifactState, 'ok'>,
  ) {
    super(`artifact ${sha256.slice(0, 12)} ${describeDamage(state)}`);
  }
}

export const describeDamage = (state: Exclude<ArtifactState, 'ok'>) =>
  ({ missing: 'is missing', wrong_size: 'has changed size (truncated or replaced)', altered: 'no longer matches its sha256 (truncated or overwritten)' })[state];

/**
 * Content-addressed artifact files: `artifacts/<sha256[0:2]>/<sha256>.onnx`. A file is copied
 * to a temp file while it is hashed (so the hash is of exactly the bytes kept), fsynced, then
 * renamed into place: a registry row is only written after the rename, so no row ever points
 * at a missing or partial file.
 */
export class ArtifactStore {
  /** Artifacts whose sha256 matched, by the stat signature they had then: each file is hashed about once per process. */
  private readonly verified = new Map<string, string>();

  constructor(readonly dir: string) {}

  pathFor(sha256: string): string {
    return path.join(this.dir, sha256.slice(0, 2), `${sha256}.onnx`);
  }

  async stage(source: string): Promise<StagedArtifact> {
    const tmpDir = path.join(this.dir, 'tmp');
    await fs.mkdir(tmpDir, { recursive: true });
    const tempPath = path.join(tmpDir, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    const out = await fs.open(tempPath, 'wx');
    let bytes = 0;
    try {
      for await (const chunk of createReadStream(source)) {
        const buf = chunk as Buffer;
        hash.update(buf);
        bytes += buf.length;
        await out.write(buf);
      }
      await out.sync();
    } catch (e) {
      await out.close();
      await fs.rm(tempPath, { force: true });
      throw e;
    }
    await out.close();
    return { tempPath, sha256: hash.digest('hex'), bytes };
  }

  /**
   * Moves a staged file into place. When that content is already stored it is kept, unless the
   * stored file was damaged since: then the staged copy replaces it (registering the file again
   * repairs the artifact).
   */
  async commit(staged: StagedArtifact): Promise<string> {
    const target = this.pathFor(staged.sha256);
    await fs.mkdir(path.dirname(target), { recursive: true });
    if ((await this.verify(staged.sha256, staged.bytes)) === 'ok') {
      await fs.rm(staged.tempPath, { force: true });
    } else {
      await fs.rename(staged.tempPath, target);
      await syncDir(path.dirname(target));
      this.verified.delete(staged.sha256);
    }
    return target;
  }

  async discard(staged: StagedArtifact): Promise<void> {
    await fs.rm(staged.tempPath, { force: true });
  }

  /**
   * Whether the artifact is the bytes it was registered with: its size, then its sha256 whenever
   * the file's stat changed since it last matched (artifacts never change once written).
   */
  async verify(sha256: string, bytes: number): Promise<ArtifactState> {
    const file = this.pathFor(sha256);
    try {
      const stat = await fs.stat(file);
      if (stat.size !== bytes) return 'wrong_size';
      const signature = `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
      if (this.verified.get(sha256) === signature) return 'ok';
      if ((await sha256Of(file)) !== sha256) return 'altered';
      this.verified.set(sha256, signature);
      return 'ok';
    } catch {
      return 'missing';
    }
  }

  /** The artifact's bytes, checked against its sha256 (what a session is loaded from). */
  async read(sha256: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.pathFor(sha256));
    } catch {
      throw new ArtifactDamagedError(sha256, 'missing');
    }
    if (createHash('sha256').update(bytes).digest('hex') !== sha256) throw new ArtifactDamagedError(sha256, 'altered');
    return bytes;
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
