// Runs after tsc (see package.json "build"). The WASM kernels travel inside the compiled modules as base64
// (src/kernels/wasm/generated/*.ts), so there are no files to copy into dist/ at present; this script is
// the place for any non-TypeScript asset that dist/ will need later.
process.exitCode = 0;
