import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { boundText, TEXT_LIMIT } from './format.js';
import type { ResourceLinkSpec, ToolAnswer } from './tool.js';

/**
 * A tool's answer as MCP content, readable by every client: the summary for people; the
 * structured answer again as JSON text, for clients that read only `content` (as the MCP spec
 * recommends); the pictures; and links to the model versions and audit trails it names. All the
 * text together stays within TEXT_LIMIT: when the JSON would not fit, its longest arrays are
 * cut (the summary says which, and that structuredContent has everything).
 */

/** The summary keeps at least this share of the text when the JSON is large. */
const SUMMARY_SHARE = 0.25;
/** Room kept for the sentence that says the JSON text was shortened. */
const NOTE_ROOM = 600;
/** At most this many links: an answer naming more (a page of versions) links the first ones. */
export const MAX_LINKS = 20;

export const versionLink = (name: string, version: string, stage?: string): ResourceLinkSpec => ({
  uri: `models://${encodeURIComponent(name)}/${encodeURIComponent(version)}`,
  name: `${name} ${version}`,
  description: `Model card of ${name} ${version}${stage ? ` (${stage})` : ''}`,
  mimeType: 'text/markdown',
});

export const auditLink = (name: string): ResourceLinkSpec => ({
  uri: `audit://${encodeURIComponent(name)}`,
  name: `${name} audit trail`,
  description: `Every change to ${name} and every refused one, newest first`,
  mimeType: 'text/markdown',
});

export function answerContent(answer: ToolAnswer<Record<string, unknown>>, note: string): CallToolResult['content'] {
  const summary = answer.summary + note;
  const json = JSON.stringify(answer.data);
  let texts: string[];
  if (summary.length + json.length <= TEXT_LIMIT) {
    texts = [summary, json];
  } else {
    const kept = boundText(summary, undefined, Math.max(TEXT_LIMIT - json.length, Math.floor(TEXT_LIMIT * SUMMARY_SHARE)));
    const shortened = jsonWithin(answer.data, TEXT_LIMIT - kept.length - NOTE_ROOM);
    texts = shortened
      ? [
          `${kept}\n(The JSON text below is shortened to keep this answer small: ${shortened.cuts.join('; ')}. structuredContent holds the whole answer.)`,
          shortened.text,
        ]
      : [`${kept}\n(The structured answer, ${json.length} characters of JSON, is too large to repeat as text: structuredContent holds it.)`];
  }
  const seen = new Set<string>();
  const links = (answer.links ?? []).filter((l) => !seen.has(l.uri) && seen.add(l.uri)).slice(0, MAX_LINKS);
  return [
    ...texts.map((text) => ({ type: 'text' as const, text })),
    ...(answer.images ?? []).map((i) => ({ type: 'image' as const, data: i.data.toString('base64'), mimeType: i.mimeType })),
    ...links.map((l) => ({ type: 'resource_link' as const, ...l })),
  ];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * `data` as JSON in at most `budget` characters: its longest arrays cut, the largest first, each
 * by as many items as the excess needs, their first items kept (`cuts` names each cut as
 * `<path> keeps <n> of <m> items`); null when even one item per array does not fit.
 */
export function jsonWithin(data: unknown, budget: number): { text: string; cuts: string[] } | null {
  let text = JSON.stringify(data);
  if (text.length <= budget) return { text, cuts: [] };
  const copy = JSON.parse(text) as Json;
  const original = new Map<Json[], { path: string; length: number }>();
  for (let round = 0; round < 64 && text.length > budget; round++) {
    const arrays: Array<{ path: string; array: Json[]; size: number }> = [];
    collectArrays(copy, '', arrays);
    const largest = arrays.filter((a) => a.array.length > 1).sort((a, b) => b.size - a.size)[0];
    if (!largest) return null;
    const { array, size } = largest;
    if (!original.has(array)) original.set(array, { path: largest.path, length: array.length });
    const perItem = size / array.length;
    const keep = Math.max(1, Math.min(array.length - 1, Math.floor(array.length - (text.length - budget) / perItem) - 1));
    array.length = keep;
    text = JSON.stringify(copy);
  }
  if (text.length > budget) return null;
  const cuts = [...original].map(([array, o]) => `${o.path || 'the answer'} keeps ${array.length} of ${o.length} items`);
  return { text, cuts };
}

function collectArrays(v: Json, path: string, out: Array<{ path: string; array: Json[]; size: number }>): number {
  if (Array.isArray(v)) {
    let size = 2;
    for (const item of v) size += collectArrays(item, `${path}[]`, out) + 1;
    out.push({ path, array: v, size });
    return size;
  }
  if (v !== null && typeof v === 'object') {
    let size = 2;
    for (const [k, item] of Object.entries(v)) size += k.length + 4 + collectArrays(item, path ? `${path}.${k}` : k, out);
    return size;
  }
  return JSON.stringify(v).length;
}
