import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, loadConfig, packageRoot } from '../src/config.js';

describe('configuration', () => {
  it('has a default for everything, resolved against the working directory', () => {
    const c = loadConfig({}, '/srv/app');
    expect(c.home).toBe('/srv/app/registry');
    expect(c.dbPath).toBe('/srv/app/registry/registry.db');
    // Not the working directory (where .env files live): the home's imports/ and the demo fixtures.
    expect(c.allowedDirs).toEqual(['/srv/app/registry/imports', path.join(packageRoot, 'fixtures')]);
    expect(c.importsDir).toBe('/srv/app/registry/imports');
    expect(c).toMatchObject({
      readOnly: false,
      modelCacheSize: 50,
      modelCacheTtlMs: 3_600_000,
      alertErrorRate: 0.05,
      alertP95LatencyMs: 100,
      logLevel: 'info',
    });
  });

  it('parses lists and flags', () => {
    const c = loadConfig({ MLOPS_MCP_ALLOWED_DIRS: '/a:rel', MLOPS_MCP_READ_ONLY: 'true', MLOPS_MCP_ALLOWED_HOSTS: 'ml.example.com, localhost' }, '/w');
    expect(c.allowedDirs).toEqual(['/a', '/w/rel']);
    expect(c.readOnly).toBe(true);
    expect(c.allowedHosts).toEqual(['ml.example.com', 'localhost']);
  });

  it('names every bad variable at once, with what it should be', () => {
    let message = '';
    try {
      loadConfig({ MODEL_CACHE_SIZE: '-3', LOG_LEVEL: 'loud', MLOPS_MCP_READ_ONLY: 'maybe', MLOPS_MCP_TOKEN: 'short' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('MODEL_CACHE_SIZE: MODEL_CACHE_SIZE must be greater than 0');
    expect(message).toContain('MLOPS_MCP_TOKEN: MLOPS_MCP_TOKEN must be at least 16 characters');
    expect(message).toContain('MLOPS_MCP_READ_ONLY: expected one of 1, true, yes, on, 0, false, no, off');
    expect(message).toMatch(/LOG_LEVEL: .*"silent"/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ MLOPS_MCP_TOKEN: '', MODEL_CACHE_SIZE: '', MLOPS_MCP_ALLOWED_DIRS: '' }, '/w')).toMatchObject({
      token: undefined,
      modelCacheSize: 50,
      allowedDirs: ['/w/registry/imports', path.join(packageRoot, 'fixtures')],
    });
  });

  it('turns on OAuth with an issuer, with the default scope names and asymmetric algorithms only', () => {
    expect(loadConfig({}).oauth).toBeNull();
    const c = loadConfig({ MLOPS_MCP_OAUTH_ISSUER: 'https://login.example.com' });
    expect(c.oauth).toMatchObject({
      issuer: 'https://login.example.com',
      scopes: { read: 'mlops:read', operate: 'mlops:operate', admin: 'mlops:admin' },
      introspection: null,
      statusPageClientId: null,
    });
    expect(c.oauth?.algorithms).not.toContain('none');
    expect(c.oauth?.algorithms.some((a) => a.startsWith('HS'))).toBe(false);
    const bad = (env: Record<string, string>) => () => loadConfig({ MLOPS_MCP_OAUTH_ISSUER: 'https://login.example.com', ...env });
    expect(bad({ MLOPS_MCP_OAUTH_ALGORITHMS: 'RS256,none' })).toThrow(/MLOPS_MCP_OAUTH_ALGORITHMS must be .*never none/);
    expect(bad({ MLOPS_MCP_OAUTH_ALGORITHMS: 'HS256' })).toThrow(/MLOPS_MCP_OAUTH_ALGORITHMS/);
    expect(bad({ MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID: 'mlops' })).toThrow(/set both, or neither/);
    expect(bad({ MLOPS_MCP_OAUTH_SCOPE_ADMIN: 'mlops:read' })).toThrow(/each role needs a scope of its own/);
    expect(bad({ MLOPS_MCP_OAUTH_SCOPE_READ: 'two words' })).toThrow(/MLOPS_MCP_OAUTH_SCOPE_READ must be one OAuth scope/);
    expect(
      loadConfig({
        MLOPS_MCP_OAUTH_ISSUER: 'https://login.example.com',
        MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID: 'mlops',
        MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_SECRET: 's',
      }).oauth?.introspection,
    ).toEqual({ clientId: 'mlops', clientSecret: 's' });
  });

  it('documents every variable in .env.example, and nothing else', () => {
    const example = fs.readFileSync(path.join(packageRoot, '.env.example'), 'utf8');
    const documented = [...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(configSchema.shape).sort());
  });
});
