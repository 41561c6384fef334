// npm links `bin` on install; tsc does not keep the executable bit, so set it after a build.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);
