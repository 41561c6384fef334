import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { doneOrAfter } from '../timing.js';
import { isMcpPath, restError, rpcError, sendRestError } from './responses.js';

const SHUTTING_DOWN = 'server shutting down; retry against another instance or after it restarts';

/** How long a shutdown waits for calls under way (with serving's own wait, the CLI exits within 5 s in all). */
export const DRAIN_MS = 2500;
/**
 * How long a shutdown keeps answering 503 (with Connection: close) before it stops listening,
 * even with nothing under way: a client looping on a keep-alive connection gets the 503 and
 * closes it, instead of a reset from a socket closed just as it sent a request on it.
 */
const GRACE_MS = 250;
/** After the port closes, how long connections accepted just before may still send a request (and get the 503). */
export const SETTLE_MS = 100;

/**
 * Requests under way, for a shutdown that lets them finish. The MCP GET stream is left out: it
 * stays open for as long as its session does. While draining, new requests get a 503.
 */
export class Drain {
  private readonly inFlight = new InFlight();
  private draining = false;
  private idle: (() => void) | null = null;

  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (this.draining) {
      res.setHeader('Connection', 'close');
      if (isMcpPath(req)) rpcError(res, 503, -32000, SHUTTING_DOWN);
      else restError(res, 503, 'TEMPORARILY_UNAVAILABLE', SHUTTING_DOWN);
      return;
    }
    if (req.method === 'GET' && isMcpPath(req)) return next();
    this.track(res);
    next();
  };

  /** Whether a REST request may start (then it is under way until its answer closes); while draining, its 503 is sent. */
  admit(res: ServerResponse): boolean {
    if (this.draining) {
      res.setHeader('Connection', 'close');
      sendRestError(res, 503, 'TEMPORARILY_UNAVAILABLE', SHUTTING_DOWN);
      return false;
    }
    this.track(res);
    return true;
  }

  private track(res: ServerResponse): void {
    const slot = this.inFlight.add(res);
    res.once('close', () => {
      this.inFlight.remove(slot);
      if (this.inFlight.size === 0) this.idle?.();
    });
  }

  /**
   * Refuses new requests (503, Connection: close) and resolves once those under way are done and
   * GRACE_MS have passed, or after `ms`. The answers still to come close their connections too.
   */
  async finish(ms: number): Promise<void> {
    this.draining = true;
    for (const res of this.inFlight.responses()) if (!res.headersSent) res.setHeader('Connection', 'close');
    const started = Date.now();
    if (this.inFlight.size > 0) await doneOrAfter(ms, (done) => (this.idle = done));
    const grace = Math.min(GRACE_MS, ms) - (Date.now() - started);
    if (grace > 0) await new Promise((resolve) => setTimeout(resolve, grace).unref());
  }
}

/**
 * Responses under way, in reused slots. Not a Set: V8 keeps a deleted Set entry's key until the
 * table is rebuilt, so every response would outlive its request (under wrk, ~3 kB a request
 * promoted to the old generation, doubling the copying in each young-generation collection).
 */
class InFlight {
  private readonly slots: (ServerResponse | undefined)[] = [];
  private readonly free: number[] = [];
  size = 0;

  add(res: ServerResponse): number {
    const slot = this.free.pop() ?? this.slots.length;
    this.slots[slot] = res;
    this.size++;
    return slot;
  }

  remove(slot: number): void {
    this.slots[slot] = undefined;
    this.free.push(slot);
    this.size--;
  }

  *responses(): Iterable<ServerResponse> {
    for (const res of this.slots) if (res) yield res;
  }
}
