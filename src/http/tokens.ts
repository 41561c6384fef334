import crypto, { timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';
import type { Role } from '../mcp/tool.js';

/**
 * A string's SHA-256, every request's token checked by it: crypto.hash (Node 20.12+) in one call,
 * half of createHash's ~4.5 µs here; createHash on older Node.
 */
export const sha256Of: (s: string) => Buffer = crypto.hash ? (s) => crypto.hash('sha256', s, 'buffer') : (s) => crypto.createHash('sha256').update(s).digest();

const tokensFileSchema = z.object({
  tokens: z
    .array(
      z
        .object({
          name: z.string().min(1).max(100),
          role: z.enum(['read', 'operate', 'admin']),
          sha256: z
            .string()
            .regex(/^[0-9a-f]{64}$/i, 'sha256 must be 64 hex characters')
            .optional(),
          token: z.string().min(16, 'a token must be at least 16 characters').optional(),
        })
        .refine((t) => (t.sha256 === undefined) !== (t.token === undefined), 'give exactly one of sha256 (preferred) and token'),
    )
    .min(1),
});

interface KnownToken {
  name: string;
  role: Role;
  digest: Buffer;
}

/**
 * The tokens that may call over HTTP, kept only as SHA-256 digests: MLOPS_MCP_TOKEN (an admin
 * named "default") and the named ones of MLOPS_MCP_TOKENS_FILE.
 */
export class TokenRegistry {
  private constructor(private readonly tokens: KnownToken[]) {}

  static load(single: string | undefined, file: string | undefined): TokenRegistry {
    const tokens: KnownToken[] = single ? [{ name: 'default', role: 'admin', digest: sha256Of(single) }] : [];
    if (file) {
      let parsed: z.infer<typeof tokensFileSchema>;
      try {
        parsed = tokensFileSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
      } catch (e) {
        const why =
          e instanceof z.ZodError
            ? e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
            : e instanceof Error
              ? e.message.split('\n')[0]
              : String(e);
        throw new Error(`MLOPS_MCP_TOKENS_FILE ${file} is not usable: ${why}`);
      }
      for (const t of parsed.tokens) {
        if (tokens.some((k) => k.name === t.name)) throw new Error(`MLOPS_MCP_TOKENS_FILE names "${t.name}" twice`);
        tokens.push({ name: t.name, role: t.role, digest: t.sha256 ? Buffer.from(t.sha256, 'hex') : sha256Of(t.token as string) });
      }
    }
    return new TokenRegistry(tokens);
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  get count(): number {
    return this.tokens.length;
  }

  /** The name and role of a presented token; every known digest is compared, in constant time. */
  identify(presented: string): { name: string; role: Role } | undefined {
    const d = sha256Of(presented);
    let found: KnownToken | undefined;
    for (const t of this.tokens) if (timingSafeEqual(d, t.digest) && !found) found = t;
    return found && { name: found.name, role: found.role };
  }
}
