// Top entries of a V8 .cpuprofile (node --cpu-prof): self time per function, and total time of
// the frames whose name or URL matches a group, as shares of all samples.
//   node tools/cpuprofile-top.mjs FILE.cpuprofile [N]
import fs from 'node:fs';

const [file, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 25);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map();
for (const id of prof.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const total = prof.samples.length;

const where = (cf) => {
  const url = cf.url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, '~/')
    .replace(/.*\/dist\//, 'dist/');
  return url ? `${url}:${cf.lineNumber + 1}` : '';
};
const self = new Map();
for (const [id, c] of counts) {
  const cf = byId.get(id).callFrame;
  const key = `${cf.functionName || '(anonymous)'} ${where(cf)}`;
  self.set(key, (self.get(key) ?? 0) + c);
}
console.log(`${total} samples`);
console.log('self %  function');
for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(`${((100 * c) / total).toFixed(1).padStart(6)}  ${k}`);

// Inclusive shares by package or file group (a sample counts once per group on its stack).
const groups = {
  express: /~\/(express|router|body-parser|raw-body|type-is|content-type|finalhandler|send|on-finished|qs|iconv-lite)\//,
  'sdk middleware': /~\/@modelcontextprotocol\//,
  zod: /~\/zod\//,
  pino: /~\/pino/,
  'prom-client': /~\/prom-client\//,
  'dist/http': /^dist\/http\//,
  'dist/serving': /^dist\/serving\//,
  'node:http': /^node:_http|^node:http/,
  'node:net/stream': /^node:net|^node:internal\/stream|^node:stream/,
  'node:child_process/ipc': /^node:internal\/child_process|^node:child_process/,
};
const inclusive = Object.fromEntries(Object.keys(groups).map((g) => [g, 0]));
let gc = 0;
for (const [id, c] of counts) {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const cf = byId.get(at).callFrame;
    if (cf.functionName === '(garbage collector)') gc += c;
    const w = where(cf);
    for (const [g, re] of Object.entries(groups)) {
      if (seen.has(g) || !re.test(w)) continue;
      seen.add(g);
      inclusive[g] += c;
    }
  }
}
console.log('\ninclusive %  group');
for (const [g, c] of Object.entries(inclusive).sort((a, b) => b[1] - a[1])) console.log(`${((100 * c) / total).toFixed(1).padStart(11)}  ${g}`);
console.log(`${((100 * gc) / total).toFixed(1).padStart(11)}  (garbage collector)`);
