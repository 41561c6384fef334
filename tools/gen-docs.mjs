// Writes docs/tools.md from the built tool definitions: `npm run docs` (builds first).
import { writeFileSync } from 'node:fs';
import { renderToolsMarkdown } from '../dist/mcp/tool-docs.js';

writeFileSync(new URL('../docs/tools.md', import.meta.url), renderToolsMarkdown());
process.stderr.write('wrote docs/tools.md\n');
