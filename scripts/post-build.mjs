// Runs after tsc (see package.json "build"). The WASM kernels travel inside the compiled modules as base64
// (src/kernels/wasm/generated/*.ts); the one other asset is the C source of the native inference reference
// (src/bench/native/*.c), which `lake bench inference` compiles at run time, copied to the same place under
// dist/. What tsc cannot do either is mark the CLI entry point executable: `npx lake` in a fresh clone runs
// dist/cli/main.js directly through its shebang.
import { chmodSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';

const nativeSource = new URL('../src/bench/native/', import.meta.url);
const nativeTarget = new URL('../dist/bench/native/', import.meta.url);
mkdirSync(nativeTarget, { recursive: true });
for (const name of readdirSync(nativeSource).filter((file) => file.endsWith('.c'))) {
  copyFileSync(new URL(name, nativeSource), new URL(name, nativeTarget));
}
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
