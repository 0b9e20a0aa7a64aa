// Runs after tsc (see package.json "build"). The WASM kernels travel inside the compiled modules as base64
// (src/kernels/wasm/generated/*.ts), so there are no files to copy into dist/. What tsc cannot do is mark the
// CLI entry point executable: `npx lake` in a fresh clone runs dist/cli/main.js directly through its shebang.
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
