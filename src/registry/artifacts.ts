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

/**
 * Content-addressed artifact files: `artifacts/<sha256[0:2]>/<sha256>.onnx`. A file is copied
 * to a temp file while it is hashed (so the hash is of exactly the bytes kept), fsynced, then
 * renamed into place: a registry row is only written after the rename, so no row ever points
 * at a missing or partial file.
 */
export class ArtifactStore {
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

  /** Moves a staged file into place (a no-op when that content is already stored). */
  async commit(staged: StagedArtifact): Promise<string> {
    const target = this.pathFor(staged.sha256);
    await fs.mkdir(path.dirname(target), { recursive: true });
    if (await exists(target)) {
      await fs.rm(staged.tempPath, { force: true });
    } else {
      await fs.rename(staged.tempPath, target);
      await syncDir(path.dirname(target));
    }
    return target;
  }

  async discard(staged: StagedArtifact): Promise<void> {
    await fs.rm(staged.tempPath, { force: true });
  }

  /** Whether the artifact is in place with the size it was registered with (a cheap check; hashing is not). */
  async check(sha256: string, bytes: number): Promise<'ok' | 'missing' | 'wrong_size'> {
    try {
      const stat = await fs.stat(this.pathFor(sha256));
      return stat.size === bytes ? 'ok' : 'wrong_size';
    } catch {
      return 'missing';
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
