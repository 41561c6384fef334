import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config.js';
import { tempDir } from '../helpers.js';

/** Opens (and migrates) the database at `file` in a separate process at time `at`, as a server start does; resolves to its exit code and stderr. */
function openInProcess(file: string, at: number): Promise<{ code: number | null; stderr: string }> {
  const database = path.join(packageRoot, 'dist', 'store', 'sqlite', 'database.js');
  // Each waits for the same moment (process start-up would otherwise spread them apart).
  const code = `import { openDatabase } from ${JSON.stringify(database)}; while (Date.now() < ${at}); openDatabase(${JSON.stringify(file)}, { info() {} }).close();`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (c) => resolve({ code: c, stderr }));
  });
}

describe('opening one new registry from several processes at once (real processes, dist build)', () => {
  it('every one of them opens it: switching a new file to WAL is retried while another process holds it', { timeout: 60_000 }, async () => {
    // Before the retry, 3 of 40 paired server starts on a new home failed with "database is
    // locked" (CI's two-process test met it once); this test caught it in 1 of 3 runs then.
    for (let round = 0; round < 20; round++) {
      const file = path.join(tempDir(), 'home', 'registry.db');
      const at = Date.now() + 400;
      const results = await Promise.all(Array.from({ length: 8 }, () => openInProcess(file, at)));
      for (const r of results) expect(r, `round ${round}: ${r.stderr}`).toEqual({ code: 0, stderr: '' });
    }
  });
});
