// The dashboard's build: `vite build -c vite.ui.config.ts --mode app|status` (npm run build runs both).
// Each mode makes ONE self-contained HTML file in dist/ui/ (scripts, styles and uPlot inlined):
//   app    -> dist/ui/dashboard.html  the MCP App (ui://mlops-mcp/dashboard), talks through the host
//   status -> dist/ui/status.html     the status page at GET /, an MCP client of /mcp on its own origin
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

const root = path.dirname(fileURLToPath(import.meta.url));
const pages: Record<string, string> = { app: 'dashboard.html', status: 'status.html' };

/** A module whose every export throws when called: for code the dashboard never runs. */
function throwingModule(file: string): string {
  const src = fs.readFileSync(file, 'utf8');
  const names = new Set<string>();
  for (const m of src.matchAll(/^export (?:const|function|class|let) ([A-Za-z_$][\w$]*)/gm)) names.add(m[1]);
  const what = path.relative(path.join(root, 'node_modules'), file);
  // A factory (createX) answers the throwing function, so that only a call of what it makes fails.
  const stub = (n: string) => `export const ${n} = ${n.startsWith('create') ? '() => unavailable' : 'unavailable'};`;
  return [`const unavailable = () => { throw new Error(${JSON.stringify(`${what} is left out of the dashboard build`)}); };`, ...[...names].map(stub)].join(
    '\n',
  );
}

/**
 * Leaves out of the bundle what the SDKs import but the dashboard never runs, to stay well
 * under the 300 KB budget: zod's 40 locales but English (the rest are only reachable as
 * z.locales.*), zod's z.compile and z.fromJSONSchema, and, for the status page, the SDK client's
 * Ajv validator (the page passes its own validator; Ajv would also need CSP 'unsafe-eval').
 * Each stand-in throws if it is ever called, so a wrong guess fails loudly in the UI tests.
 */
function trim(mode: string): Plugin {
  const zod = path.join(root, 'node_modules', 'zod', 'v4');
  const stand: Record<string, () => string> = {
    [path.join(zod, 'locales', 'index.js')]: () => `export { default as en } from ${JSON.stringify(path.join(zod, 'locales', 'en.js'))};`,
    [path.join(zod, 'core', 'compile.js')]: () => throwingModule(path.join(zod, 'core', 'compile.js')),
    [path.join(zod, 'classic', 'from-json-schema.js')]: () => throwingModule(path.join(zod, 'classic', 'from-json-schema.js')),
    // JSON Schema output (z.toJSONSchema, schema.toJSONSchema(), ~standard.jsonSchema): only for
    // tools an app registers itself, which this one does not.
    [path.join(zod, 'core', 'json-schema-processors.js')]: () => throwingModule(path.join(zod, 'core', 'json-schema-processors.js')),
    [path.join(zod, 'core', 'to-json-schema.js')]: () => throwingModule(path.join(zod, 'core', 'to-json-schema.js')),
    [path.join(zod, 'core', 'json-schema-generator.js')]: () => throwingModule(path.join(zod, 'core', 'json-schema-generator.js')),
  };
  if (mode === 'status') {
    const ajv = path.join(root, 'node_modules', '@modelcontextprotocol', 'sdk', 'dist', 'esm', 'validation', 'ajv-provider.js');
    stand[ajv] = () => throwingModule(ajv);
  }
  for (const file of Object.keys(stand)) if (!fs.existsSync(file)) throw new Error(`vite.ui.config.ts: ${file} is gone; review the trim list`);
  // The dashboard shows the drift statistics (src/monitoring/statistics/*.ts) but never computes
  // one: the folders beside them, where a statistic keeps its arithmetic (KS's ports of scipy,
  // ~17 KB), are left out.
  const statistics = path.join(root, 'src', 'monitoring', 'statistics');
  const arithmetic = (file: string) => file.startsWith(statistics + path.sep) && path.dirname(file) !== statistics;
  return {
    name: 'mlops-mcp-trim',
    enforce: 'pre',
    async resolveId(id, importer, options) {
      const resolved = await this.resolve(id, importer, { ...options, skipSelf: true });
      return resolved && (stand[resolved.id] || arithmetic(resolved.id)) ? `\0trim:${resolved.id}` : null;
    },
    load(id) {
      if (!id.startsWith('\0trim:')) return null;
      const file = id.slice('\0trim:'.length);
      return stand[file] ? stand[file]() : throwingModule(file);
    },
  };
}

export default defineConfig(({ mode }) => {
  const page = pages[mode];
  if (!page) throw new Error(`vite.ui.config.ts: --mode ${mode}; use app or status`);
  return {
    root: path.join(root, 'src', 'ui'),
    base: './',
    publicDir: false,
    logLevel: 'warn',
    plugins: [trim(mode), viteSingleFile({ removeViteModuleLoader: true })],
    build: {
      outDir: path.join(root, 'dist', 'ui'),
      emptyOutDir: false,
      target: 'es2022',
      reportCompressedSize: false,
      rollupOptions: { input: path.join(root, 'src', 'ui', page) },
    },
  };
});
