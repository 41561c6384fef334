import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, readdirSync, rmSync, statSync } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactObjects } from './ports.js';

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
  ({ missing: 'is missing', wrong_size: 'has changed size (truncated or replaced)', altered: 'no longer matches its sha256 (truncated or overwritten)' })[
    state
  ];

/**
 * How old a temp file must be before opening a store removes it: far longer than any write keeps
 * one (a copy, an fsync and an ONNX load), short enough that crashes do not pile them up.
 */
export const STALE_TEMP_MS = 10 * 60_000;

export interface ArtifactStoreOptions {
  /** Temp files last modified longer ago than this are removed when the store is opened (default {@link STALE_TEMP_MS}). */
  staleTempMs?: number;
  /** Object storage shared by every server: then the directory is a verified cache of it. */
  objects?: ArtifactObjects | undefined;
}

/** What the store writes in `tmp/`: staged copies (`<uuid>.part`) and MLflow downloads (`import-<uuid>.onnx`). */
const TEMP_FILE = /^(?:[0-9a-f-]{36}\.part|import-[0-9a-f-]{36}\.onnx)$/;

/**
 * Content-addressed artifact files: `artifacts/<sha256[0:2]>/<sha256>.onnx`. A file is copied
 * to a temp file while it is hashed (so the hash is of exactly the bytes kept), fsynced, then
 * renamed into place: a registry row is only written after the rename, so no row ever points
 * at a missing or partial file. With object storage (several servers), a committed file is also
 * stored there before its row is written, and a file this server lacks, or holds damaged, is
 * fetched from there, checked against its sha256 and cached here.
 */
export class ArtifactStore {
  /** Artifacts whose sha256 matched, by the stat signature they had then: each file is hashed about once per process. */
  private readonly verified = new Map<string, string>();
  private readonly objects: ArtifactObjects | undefined;

  constructor(
    readonly dir: string,
    options: ArtifactStoreOptions = {},
  ) {
    this.objects = options.objects;
    this.removeStaleTemps(options.staleTempMs ?? STALE_TEMP_MS);
  }

  /** Where artifacts are shared between servers, or null when only in this directory. */
  get sharedLocation(): string | null {
    return this.objects?.location ?? null;
  }

  pathFor(sha256: string): string {
    return path.join(this.dir, sha256.slice(0, 2), `${sha256}.onnx`);
  }

  /**
   * Removes the temp files of writes that never finished (the process was killed between
   * creating the file and renaming or removing it); returns their names. Runs when the store is
   * opened, that is at server start.
   *
   * Other processes may share this home (two servers on one MLOPS_MCP_HOME are supported) and be
   * writing a temp file right now, so only files untouched for `maxAgeMs` go. Age rather than a
   * lock: Node has no portable file lock, and a live write touches its file while copying and
   * holds it only seconds more (fsync, ONNX load) before the rename. Should a write ever hold one
   * longer than `maxAgeMs`, its rename fails and that registration errors out; no registry row is
   * written, so none points at the removed file. Synchronous, so it is done before the server
   * takes a request; the directory holds a handful of files at most.
   */
  removeStaleTemps(maxAgeMs: number, now = Date.now()): string[] {
    const tmpDir = path.join(this.dir, 'tmp');
    let names: string[];
    try {
      names = readdirSync(tmpDir);
    } catch {
      return []; // no temp area yet
    }
    const removed: string[] = [];
    for (const name of names) {
      if (!TEMP_FILE.test(name)) continue;
      if (removeIfUntouched(path.join(tmpDir, name), maxAgeMs, now)) removed.push(name);
    }
    return removed;
  }

  /**
   * Removes stored artifacts that no registry row names and that were last touched more than
   * `maxAgeMs` ago; returns their sha256s. A registration stores its file before it writes the
   * row that names it (so no row points at a missing file); when the row is refused after that
   * (a version label taken meanwhile, a full disk, a crash between the two) the file is left
   * behind. Rows are never deleted, so an unnamed file is such a leftover. Age, as for temp
   * files: another process may be between those two steps right now (commit() touches a file it
   * reuses for that reason). `referenced` holds the graphs served for versions too (a derived
   * one, see intake.ts). Run at server start.
   */
  removeUnreferenced(referenced: ReadonlySet<string>, maxAgeMs: number, now = Date.now()): string[] {
    const removed: string[] = [];
    let dirs: string[];
    try {
      dirs = readdirSync(this.dir);
    } catch {
      return removed;
    }
    for (const prefix of dirs) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      let names: string[];
      try {
        names = readdirSync(path.join(this.dir, prefix));
      } catch {
        continue;
      }
      for (const name of names) {
        const sha256 = /^([0-9a-f]{64})\.onnx$/.exec(name)?.[1];
        if (!sha256 || !sha256.startsWith(prefix) || referenced.has(sha256)) continue;
        if (removeIfUntouched(path.join(this.dir, prefix, name), maxAgeMs, now)) removed.push(sha256);
      }
    }
    return removed;
  }

  /** Writes bytes made in memory (a derived or inlined model) into a temp file, hashed, as stage() does a copy. */
  async stageBytes(bytes: Uint8Array): Promise<StagedArtifact> {
    const tmpDir = path.join(this.dir, 'tmp');
    await fs.mkdir(tmpDir, { recursive: true });
    const tempPath = path.join(tmpDir, `${randomUUID()}.part`);
    try {
      await writeAll(tempPath, bytes);
    } catch (e) {
      await fs.rm(tempPath, { force: true });
      throw e;
    }
    return { tempPath, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  }

  /** Copies a file (by path, or an open handle, read from where it is and left open) into a temp file, hashing it. */
  async stage(source: string | FileHandle): Promise<StagedArtifact> {
    const tmpDir = path.join(this.dir, 'tmp');
    await fs.mkdir(tmpDir, { recursive: true });
    const tempPath = path.join(tmpDir, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    const out = await fs.open(tempPath, 'wx');
    let bytes = 0;
    try {
      const input = typeof source === 'string' ? createReadStream(source) : source.createReadStream({ autoClose: false, start: 0 });
      for await (const chunk of input) {
        const buf = chunk as Buffer;
        hash.update(buf);
        bytes += buf.length;
        await writeFully(out, buf);
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
    const target = await this.place(staged);
    await this.objects?.put(staged.sha256, target, staged.bytes);
    return target;
  }

  /** commit() in this directory only. */
  private async place(staged: StagedArtifact): Promise<string> {
    const target = this.pathFor(staged.sha256);
    await fs.mkdir(path.dirname(target), { recursive: true });
    if ((await this.verifyLocal(staged.sha256, staged.bytes)) === 'ok') {
      await fs.rm(staged.tempPath, { force: true });
      // Fresh again, so that removeUnreferenced in another process starting now keeps it until our row names it.
      const now = new Date();
      await fs.utimes(target, now, now);
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
    const local = await this.verifyLocal(sha256, bytes);
    if (local === 'ok' || !this.objects) return local;
    // Shared storage holds the file this server lacks (or holds damaged): the next read fetches it.
    const size = await this.objects.size(sha256);
    return size === undefined ? local : size === bytes ? 'ok' : 'wrong_size';
  }

  private async verifyLocal(sha256: string, bytes: number): Promise<ArtifactState> {
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

  /**
   * The artifact's bytes, checked against its sha256 (what a session is loaded from). A file
   * missing or damaged here is fetched from shared storage, when there is one, checked, and
   * cached here (temp file, then rename: a reader never sees part of it).
   */
  async read(sha256: string): Promise<Buffer> {
    let state: ArtifactState = 'missing';
    try {
      const bytes = await fs.readFile(this.pathFor(sha256));
      if (sha256Hex(bytes) === sha256) return bytes;
      state = 'altered';
    } catch {
      state = 'missing';
    }
    if (!this.objects) throw new ArtifactDamagedError(sha256, state);
    const fetched = await this.objects.get(sha256);
    if (!fetched) throw new ArtifactDamagedError(sha256, state);
    if (sha256Hex(fetched) !== sha256) throw new ArtifactDamagedError(sha256, 'altered');
    await this.place(await this.stageBytes(fetched));
    return fetched;
  }
}

/**
 * A write may take only part of the buffer (a file size limit, a nearly full disk): write the
 * rest, which fails with the reason if the disk takes no more. One write per chunk kept a short
 * copy whose hash was of the whole file.
 */
async function writeFully(out: FileHandle, buf: Uint8Array): Promise<void> {
  for (let at = 0; at < buf.length;) {
    const { bytesWritten } = await out.write(buf, at, buf.length - at);
    if (bytesWritten === 0) throw Object.assign(new Error('the disk took no more bytes'), { code: 'EIO' });
    at += bytesWritten;
  }
}

/** A new file with every byte, fsynced. */
async function writeAll(file: string, bytes: Uint8Array): Promise<void> {
  const out = await fs.open(file, 'wx');
  try {
    await writeFully(out, bytes);
    await out.sync();
  } finally {
    await out.close();
  }
}

/** Removes a file last modified more than `maxAgeMs` before `now`; false when it is younger, not a file, or gone. */
function removeIfUntouched(file: string, maxAgeMs: number, now: number): boolean {
  try {
    const stat = statSync(file);
    if (!stat.isFile() || now - stat.mtimeMs <= maxAgeMs) return false;
    rmSync(file, { force: true });
    return true;
  } catch {
    return false; // gone meanwhile (its writer finished, or another process cleaned it)
  }
}

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

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
