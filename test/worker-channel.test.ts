import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { WorkerChannel } from '../src/worker-channel.js';

/**
 * A real thread: `{ echo }` is answered with the same value, `{ crash }` throws out of the
 * message handler (the thread fails: 'error', then 'exit' once it has torn down), `{ exit }`
 * ends the thread without an answer.
 */
function echoThread(): Worker {
  const source = `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', (m) => {
      if (m.crash) throw new Error('boom');
      if (m.exit) process.exit(3);
      parentPort.postMessage({ id: m.id, echo: m.echo });
    });`;
  return new Worker(source, { eval: true });
}

type Message = { echo?: string; crash?: boolean; exit?: boolean };
type Reply = { id: number; echo?: string };

describe('WorkerChannel (real worker threads)', () => {
  it('answers requests in order and starts one thread for them', async () => {
    let started = 0;
    const channel = new WorkerChannel<Message, Reply>(() => (started++, echoThread()), 'echo thread');
    const replies = await Promise.all(['a', 'b', 'c'].map((echo) => channel.request({ echo })));
    expect(replies.map((r) => r.echo)).toEqual(['a', 'b', 'c']);
    expect(started).toBe(1);
    await channel.take()?.terminate();
  });

  it('rejects the requests of a thread that fails, naming it, and the next request starts a new thread', async () => {
    let started = 0;
    const channel = new WorkerChannel<Message, Reply>(() => (started++, echoThread()), 'echo thread');
    await expect(channel.request({ crash: true })).rejects.toThrow(/echo thread failed: boom/);
    await expect(channel.request({ echo: 'after' })).resolves.toMatchObject({ echo: 'after' });
    expect(started).toBe(2);
    await channel.take()?.terminate();
  });

  it("a failed thread's late exit does not reject the requests its replacement is working on", async () => {
    // The failing thread emits 'error' at once and 'exit' only after tearing down: a request
    // sent in between goes to a new thread, and must not be failed by the old one's exit.
    const channel = new WorkerChannel<Message, Reply>(echoThread, 'echo thread');
    const failed = channel.request({ crash: true });
    const next = failed.then(
      () => null,
      () => channel.request({ echo: 'survives' }),
    );
    await expect(failed).rejects.toThrow(/failed: boom/);
    await expect(next).resolves.toMatchObject({ echo: 'survives' });
    await channel.take()?.terminate();
  });

  it('a thread that exits rejects what it was asked, with its exit code', async () => {
    const channel = new WorkerChannel<Message, Reply>(echoThread, 'echo thread');
    await expect(channel.request({ exit: true })).rejects.toThrow(/echo thread exited \(code 3\)/);
    await expect(channel.request({ echo: 'again' })).resolves.toMatchObject({ echo: 'again' });
    await channel.take()?.terminate();
  });

  it('a thread taken by its owner and closed later does not reject requests sent after it was taken', async () => {
    const channel = new WorkerChannel<Message, Reply>(echoThread, 'echo thread');
    await channel.request({ echo: 'first' });
    const old = channel.take();
    const pending = channel.request({ echo: 'to the new thread' });
    await old?.terminate();
    await expect(pending).resolves.toMatchObject({ echo: 'to the new thread' });
    await channel.take()?.terminate();
  });
});
