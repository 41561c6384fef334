import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { openAllowedFile, openWithin, resolveAllowedFile } from '../src/files.js';
import { tempDir } from './helpers.js';

function layout() {
  const root = tempDir();
  const allowed = path.join(root, 'allowed');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(path.join(allowed, 'sub'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(allowed, 'sub', 'model.onnx'), 'model');
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'TOP SECRET CONTENT');
  return { root, allowed, outside };
}

describe('resolveAllowedFile (real files and symlinks)', () => {
  it('accepts a file under an allowed directory and returns its real path', async () => {
    const { allowed } = layout();
    const real = await resolveAllowedFile('artifact_path', path.join(allowed, 'sub', '..', 'sub', 'model.onnx'), [allowed]);
    expect(real).toBe(fs.realpathSync(path.join(allowed, 'sub', 'model.onnx')));
  });

  it('refuses ../ escapes and absolute paths outside, without reading them', async () => {
    const { allowed, outside } = layout();
    await expect(resolveAllowedFile('artifact_path', path.join(allowed, '..', 'outside', 'secret.txt'), [allowed])).rejects.toMatchObject({
      code: 'path_not_allowed',
    });
    await expect(resolveAllowedFile('artifact_path', '/etc/passwd', [allowed])).rejects.toMatchObject({ code: 'path_not_allowed' });
    const err = await resolveAllowedFile('artifact_path', path.join(outside, 'secret.txt'), [allowed]).catch((e: Error) => e);
    expect(String(err)).not.toContain('TOP SECRET');
  });

  it('refuses a sibling directory whose name starts with an allowed one (a path check, not a prefix check)', async () => {
    const { root, allowed } = layout();
    const evil = path.join(root, 'allowed-evil');
    fs.mkdirSync(evil);
    fs.writeFileSync(path.join(evil, 'model.onnx'), 'model');
    await expect(resolveAllowedFile('artifact_path', path.join(evil, 'model.onnx'), [allowed])).rejects.toMatchObject({ code: 'path_not_allowed' });
    await expect(openAllowedFile('artifact_path', path.join(evil, 'model.onnx'), [allowed])).rejects.toMatchObject({ code: 'path_not_allowed' });
  });

  it('names the allowed directories as configured (not their symlink targets) in a refusal, so the caller knows where to put the file', async () => {
    const { root, allowed, outside } = layout();
    fs.symlinkSync(allowed, path.join(root, 'via-link'));
    const dirs = [path.join(root, 'via-link'), path.join(root, 'imports')];
    const err = await resolveAllowedFile('csv_path', path.join(outside, 'secret.txt'), dirs).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'path_not_allowed' });
    expect((err as Error).message).toBe(
      `csv_path "${path.join(outside, 'secret.txt')}" is outside the allowed directories (${dirs.join(', ')}). Copy the file into one of them, or have an operator add its directory to MLOPS_MCP_ALLOWED_DIRS.`,
    );
    const missing = await resolveAllowedFile('csv_path', path.join(root, 'via-link', 'nope.csv'), dirs).catch((e: Error) => e);
    expect((missing as Error).message).toContain(`it must be a file under ${dirs.join(', ')}`);
  });

  it('refuses a missing file outside as outside: it never tells whether a file exists there', async () => {
    const { allowed, outside } = layout();
    for (const file of [path.join(outside, 'nope.txt'), path.join(outside, 'secret.txt')]) {
      await expect(resolveAllowedFile('p', file, [allowed])).rejects.toMatchObject({ code: 'path_not_allowed' });
    }
  });

  it('refuses a symlink inside an allowed directory that points outside it', async () => {
    const { allowed, outside } = layout();
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(allowed, 'link.onnx'));
    fs.symlinkSync(outside, path.join(allowed, 'dirlink'));
    await expect(resolveAllowedFile('artifact_path', path.join(allowed, 'link.onnx'), [allowed])).rejects.toMatchObject({ code: 'path_not_allowed' });
    await expect(resolveAllowedFile('artifact_path', path.join(allowed, 'dirlink', 'secret.txt'), [allowed])).rejects.toMatchObject({
      code: 'path_not_allowed',
    });
  });

  it('follows a symlink that stays inside, and an allowed directory that is itself a symlink', async () => {
    const { root, allowed } = layout();
    fs.symlinkSync(path.join(allowed, 'sub', 'model.onnx'), path.join(allowed, 'alias.onnx'));
    expect(await resolveAllowedFile('p', path.join(allowed, 'alias.onnx'), [allowed])).toBe(fs.realpathSync(path.join(allowed, 'sub', 'model.onnx')));
    fs.symlinkSync(allowed, path.join(root, 'via-link'));
    expect(await resolveAllowedFile('p', path.join(root, 'via-link', 'sub', 'model.onnx'), [path.join(root, 'via-link')])).toBe(
      fs.realpathSync(path.join(allowed, 'sub', 'model.onnx')),
    );
  });

  it('says file_not_found for a missing file and refuses directories and NUL bytes', async () => {
    const { allowed } = layout();
    const missing = path.join(allowed, 'nope.onnx');
    await expect(resolveAllowedFile('p', missing, [allowed])).rejects.toMatchObject({
      code: 'file_not_found',
      message: `p "${missing}" does not exist. Check the path; it must be a file under ${allowed}.`,
    });
    const sub = path.join(allowed, 'sub');
    await expect(resolveAllowedFile('p', sub, [allowed])).rejects.toMatchObject({ code: 'invalid_argument', message: `p "${sub}" is not a regular file.` });
    await expect(openAllowedFile('p', sub, [allowed])).rejects.toMatchObject({ code: 'invalid_argument', message: `p "${sub}" is not a regular file.` });
    await expect(resolveAllowedFile('p', `${allowed}/x\0.onnx`, [allowed])).rejects.toMatchObject({
      code: 'invalid_argument',
      message: 'p contains a NUL byte.',
    });
  });

  it('refuses an allowed directory itself, and still allows the others when one does not exist', async () => {
    const { root, allowed } = layout();
    const gone = path.join(root, 'gone');
    await expect(resolveAllowedFile('p', allowed, [allowed])).rejects.toMatchObject({ code: 'path_not_allowed' });
    expect(await resolveAllowedFile('p', path.join(allowed, 'sub', 'model.onnx'), [gone, allowed])).toBe(
      fs.realpathSync(path.join(allowed, 'sub', 'model.onnx')),
    );
    await expect(resolveAllowedFile('p', path.join(gone, 'model.onnx'), [gone, allowed])).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it.each([
    [10, ''],
    [11, ' and 1 more'],
    [12, ' and 2 more'],
  ])('names at most ten of %i allowed directories in a refusal', async (n, more) => {
    const { root, outside } = layout();
    const dirs = Array.from({ length: n }, (_, i) => path.join(root, `dir${i}`));
    const file = path.join(outside, 'secret.txt');
    await expect(resolveAllowedFile('csv_path', file, dirs)).rejects.toMatchObject({
      code: 'path_not_allowed',
      message: `csv_path "${file}" is outside the allowed directories (${dirs.slice(0, 10).join(', ')}${more}). Copy the file into one of them, or have an operator add its directory to MLOPS_MCP_ALLOWED_DIRS.`,
    });
  });
});

/** The descriptors this process holds open on `file`. */
function openOn(file: string): number {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

describe('openAllowedFile (real files, symlinks and a real race)', () => {
  // A file that passes every check and cannot be opened: unreadable to anyone but root, and a
  // write-only sysfs attribute (which the kernel refuses to open for reading) to root.
  const root = process.getuid?.() === 0;
  const writeOnly = '/sys/bus/pci/rescan';
  it.skipIf(root && !fs.existsSync(writeOnly))('says a file that cannot be opened could not be opened, naming the argument', async () => {
    let dir = path.dirname(writeOnly);
    let file = writeOnly;
    if (!root) {
      ({ allowed: dir } = layout());
      file = path.join(dir, 'sub', 'model.onnx');
      fs.chmodSync(file, 0o000);
    }
    await expect(openAllowedFile('artifact_path', file, [dir])).rejects.toMatchObject({
      code: 'file_not_found',
      message: `artifact_path "${file}" could not be opened (it changed while being checked, or is not readable). Check the path and try again.`,
    });
  });

  it("openWithin throws the caller's error for each refusal and holds nothing open after one", async () => {
    const { allowed, outside } = layout();
    const fail = { unopened: () => new Error('unopened'), notFile: () => new Error('not a file'), outside: () => new Error('outside') };
    const secret = fs.realpathSync(path.join(outside, 'secret.txt'));
    const sub = fs.realpathSync(path.join(allowed, 'sub'));
    const dirs = [fs.realpathSync(allowed)];
    await expect(openWithin(path.join(sub, 'nope'), dirs, fail)).rejects.toThrow('unopened');
    await expect(openWithin(sub, dirs, fail)).rejects.toThrow('not a file');
    expect(openOn(sub)).toBe(0);
    await expect(openWithin(secret, dirs, fail)).rejects.toThrow('outside');
    expect(openOn(secret)).toBe(0);
    const handle = await openWithin(path.join(sub, 'model.onnx'), dirs, fail);
    expect(openOn(path.join(sub, 'model.onnx'))).toBe(1);
    await handle.close();
  });

  it('opens a file under an allowed directory and refuses what resolveAllowedFile refuses', async () => {
    const { allowed, outside } = layout();
    const file = await openAllowedFile('p', path.join(allowed, 'sub', 'model.onnx'), [allowed]);
    expect(file.path).toBe(fs.realpathSync(path.join(allowed, 'sub', 'model.onnx')));
    expect(await file.handle.readFile('utf8')).toBe('model');
    await file.handle.close();
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(allowed, 'link.onnx'));
    await expect(openAllowedFile('p', path.join(allowed, 'link.onnx'), [allowed])).rejects.toMatchObject({ code: 'path_not_allowed' });
  });

  it('never hands out a file outside while a checked directory is swapped for a symlink to outside', async () => {
    // A thread swaps allowed/sub with a symlink to outside/ (holding its own secret model.onnx)
    // as fast as it can; each open is checked after the fact, so what it reads is inside or refused.
    const { allowed, outside } = layout();
    fs.writeFileSync(path.join(outside, 'model.onnx'), 'TOP SECRET CONTENT');
    const sub = path.join(allowed, 'sub');
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const swapper = new Worker(
      `const fs = require('node:fs'); const { workerData: { sub, outside, stop } } = require('node:worker_threads');
       while (Atomics.load(stop, 0) === 0) {
         fs.renameSync(sub, sub + '.real'); fs.symlinkSync(outside, sub);
         fs.renameSync(sub, sub + '.link'); fs.renameSync(sub + '.real', sub); fs.unlinkSync(sub + '.link');
       }`,
      { eval: true, workerData: { sub, outside, stop } },
    );
    const seen = { inside: 0, refused: 0, outside: 0 };
    const refusals = new Set<string | undefined>();
    const until = Date.now() + 1500;
    try {
      while (Date.now() < until) {
        try {
          const file = await openAllowedFile('p', path.join(sub, 'model.onnx'), [allowed]);
          const content = await file.handle.readFile('utf8');
          await file.handle.close();
          seen[content === 'model' ? 'inside' : 'outside']++;
        } catch (e) {
          // Each refusal is one a caller can read: outside, gone, or changed while checked.
          refusals.add((e as { code?: string }).code);
          seen.refused++;
        }
      }
    } finally {
      Atomics.store(stop, 0, 1);
      await new Promise((r) => swapper.once('exit', r));
    }
    expect(seen.outside).toBe(0);
    expect(seen.inside).toBeGreaterThan(0);
    expect(refusals).toContain('path_not_allowed');
    expect([...refusals].every((c) => c === 'path_not_allowed' || c === 'file_not_found')).toBe(true);
  }, 20_000);
});
