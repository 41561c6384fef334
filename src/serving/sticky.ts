import { createHash } from 'node:crypto';

/**
 * A number in [0, 1) from a routing key: the same key always lands in the same bucket. Apart from
 * traffic.ts so that the traffic types and rules stay free of Node (the dashboard's types read them).
 */
export function stickyBucket(name: string, routingKey: string): number {
  const h = createHash('sha256').update(name).update('\0').update(routingKey).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}
