import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { packageRoot } from '../../src/config.js';
import { renderToolsMarkdown } from '../../src/mcp/tool-docs.js';
import { allTools } from '../../src/mcp/tools/index.js';
import { connect, testApp } from '../helpers.js';

const SNAP_DIR = path.join(packageRoot, 'test', '__toolsnaps__');
const update = process.env.UPDATE_TOOLSNAPS === '1';

let client: Client;
let listed: Awaited<ReturnType<Client['listTools']>>['tools'];
const { app } = await testApp();

beforeAll(async () => {
  client = await connect(app);
  listed = (await client.listTools()).tools;
});
afterAll(async () => {
  await client.close();
  await app.close();
});

describe('the tool list', () => {
  it('lists every defined tool once, under a unique snake_case name', () => {
    const names = allTools.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(listed.map((t) => t.name)).toEqual(names);
  });

  it('gives every tool a title, a description, an output schema and annotations derived from its effect', () => {
    for (const tool of listed) {
      const def = allTools.find((t) => t.name === tool.name)!;
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.description!.length, tool.name).toBeGreaterThan(30);
      expect(tool.outputSchema, tool.name).toBeDefined();
      expect(tool.annotations).toMatchObject({
        readOnlyHint: def.effect === 'read',
        destructiveHint: def.effect === 'destructive',
        idempotentHint: def.idempotent,
        openWorldHint: def.openWorld ?? false,
      });
    }
  });

  it('describes every input field and has no top-level anyOf/oneOf', () => {
    for (const tool of listed) {
      const schema = tool.inputSchema as { properties?: Record<string, { description?: string }>; anyOf?: unknown; oneOf?: unknown };
      expect(schema.anyOf, tool.name).toBeUndefined();
      expect(schema.oneOf, tool.name).toBeUndefined();
      for (const [field, prop] of Object.entries(schema.properties ?? {})) expect(prop.description, `${tool.name}.${field}`).toBeTruthy();
    }
  });

  it('can be called by a client that sends arguments as strings: every input field has one JSON type or takes text', () => {
    // MCP Inspector's CLI (--tool-arg key=value) parses a value as JSON only when the field's
    // schema says type object or array; a field with anyOf alternatives gets the raw text.
    for (const tool of listed) {
      const schema = tool.inputSchema as { properties?: Record<string, { type?: unknown; anyOf?: Array<{ type?: unknown }> }> };
      for (const [field, prop] of Object.entries(schema.properties ?? {})) {
        if (prop.type !== undefined) continue;
        expect(
          prop.anyOf?.some((branch) => branch.type === 'string'),
          `${tool.name}.${field} has no single type and no string branch`,
        ).toBe(true);
      }
    }
  });

  it('bounds every array, record and string in every input schema, and names models and versions by one safe pattern', () => {
    type Node = {
      type?: string | string[];
      maxItems?: number;
      maxProperties?: number;
      maxLength?: number;
      enum?: unknown;
      const?: unknown;
      format?: string;
      pattern?: string;
      properties?: Record<string, Node>;
      additionalProperties?: Node | boolean;
      items?: Node;
      anyOf?: Node[];
      oneOf?: Node[];
      allOf?: Node[];
    };
    const unbounded: string[] = [];
    const walk = (n: Node, at: string) => {
      const types = Array.isArray(n.type) ? n.type : [n.type];
      if (types.includes('array') && n.maxItems === undefined) unbounded.push(`${at}: array without maxItems`);
      if (types.includes('string') && n.maxLength === undefined && n.enum === undefined && n.const === undefined && n.pattern === undefined)
        unbounded.push(`${at}: string without maxLength`);
      const record = typeof n.additionalProperties === 'object';
      if (record && n.maxProperties === undefined) unbounded.push(`${at}: record without maxProperties`);
      for (const [k, p] of Object.entries(n.properties ?? {})) walk(p, `${at}.${k}`);
      if (record) walk(n.additionalProperties as Node, `${at}{}`);
      if (n.items) walk(n.items, `${at}[]`);
      for (const alt of [...(n.anyOf ?? []), ...(n.oneOf ?? []), ...(n.allOf ?? [])]) walk(alt, at);
    };
    for (const tool of listed) walk(tool.inputSchema, tool.name);
    expect(unbounded).toEqual([]);

    // Every model name and version label argument (a field, or the keys of a weights record):
    // 1–128 of letters, digits, "._-" (safe in paths, URIs and MLflow).
    const safe = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
    for (const tool of listed) {
      const props = (tool.inputSchema as Node).properties ?? {};
      for (const field of ['name', 'version', 'to_version'] as const) {
        if (props[field]) expect(props[field].pattern, `${tool.name}.${field}`).toBe(safe);
      }
      const weights = props.weights as (Node & { propertyNames?: Node }) | undefined;
      if (weights) expect(weights.propertyNames?.pattern, `${tool.name}.weights keys`).toBe(safe);
    }
    expect(listed.find((t) => t.name === 'rollback_model')?.inputSchema.properties).toHaveProperty('to_version');
    expect(listed.find((t) => t.name === 'configure_ab_test')?.inputSchema.properties).toHaveProperty('weights');
  });

  it('takes dry_run and reason on every write tool', () => {
    for (const def of allTools.filter((t) => t.effect !== 'read')) {
      expect(Object.keys(def.input), def.name).toEqual(expect.arrayContaining(['dry_run', 'reason']));
    }
  });

  it('has examples that its own input schema accepts', () => {
    for (const def of allTools) {
      for (const example of [def.example, ...(def.examples ?? []).map((e) => e.args)])
        expect(() => z.object(def.input).strict().parse(example), def.name).not.toThrow();
    }
  });

  it('matches the reviewed schema snapshots in test/__toolsnaps__ (UPDATE_TOOLSNAPS=1 to rewrite)', () => {
    if (update) fs.mkdirSync(SNAP_DIR, { recursive: true });
    for (const tool of listed) {
      const file = path.join(SNAP_DIR, `${tool.name}.json`);
      const snap = `${JSON.stringify({ name: tool.name, title: tool.title, annotations: tool.annotations, _meta: tool._meta, inputSchema: tool.inputSchema, outputSchema: tool.outputSchema }, null, 2)}\n`;
      if (update) fs.writeFileSync(file, snap);
      expect(fs.existsSync(file), `${file} missing: run UPDATE_TOOLSNAPS=1 npm test`).toBe(true);
      expect(snap, `${tool.name} schema changed: review, then UPDATE_TOOLSNAPS=1 npm test`).toBe(fs.readFileSync(file, 'utf8'));
    }
    const extra = fs.readdirSync(SNAP_DIR).filter((f) => !listed.some((t) => `${t.name}.json` === f));
    expect(extra, 'snapshots of tools that no longer exist').toEqual([]);
  });

  it('keeps docs/tools.md in step with the definitions (npm run docs)', () => {
    expect(fs.readFileSync(path.join(packageRoot, 'docs', 'tools.md'), 'utf8')).toBe(renderToolsMarkdown());
  });
});

describe('read-only mode', () => {
  it('lists only read tools, and a write tool cannot be called', async () => {
    const ro = await connect(app, { readOnly: true });
    const names = (await ro.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(allTools.filter((t) => t.effect === 'read').map((t) => t.name));
    expect(names).not.toContain('promote_model');
    const r = await ro.callTool({ name: 'promote_model', arguments: { name: 'x', version: 'v1', target_stage: 'production' } });
    expect(r.isError).toBe(true);
    await ro.close();
  });
});
