#!/usr/bin/env node
/**
 * Builds the optional native addon (native/lake_io.cc -> build/Release/lake_io.node) and never fails the
 * install: lake works without it (src/realdev falls back to Node's libuv thread pool). Tries node-gyp
 * (npm's own copy) with the local Node headers, then a direct g++ build, then gives up with a warning.
 * LAKE_NATIVE=0 skips the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'build', 'Release', 'lake_io.node');
const log = (text) => process.stderr.write(`lake native: ${text}\n`);

function headersDir() {
  const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')];
  return candidates.find((dir) => dir && existsSync(join(dir, 'include', 'node', 'node_api.h')));
}

function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  return {
    ok: r.status === 0,
    output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`,
  };
}

function loads() {
  const r = run(process.execPath, ['-e', `require(${JSON.stringify(output)}).nowUs()`]);
  return r.ok;
}

function nodeGyp(nodedir) {
  const gyp = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ].find((p) => p && existsSync(p));
  if (gyp === undefined) return { ok: false, output: 'node-gyp not found' };
  const args = [gyp, 'rebuild', '--release'];
  if (nodedir !== undefined) args.push(`--nodedir=${nodedir}`);
  return run(process.execPath, args);
}

function gxx(nodedir) {
  if (nodedir === undefined) return { ok: false, output: 'no Node headers (include/node/node_api.h)' };
  mkdirSync(dirname(output), { recursive: true });
  return run('g++', [
    '-O2',
    '-std=c++17',
    '-shared',
    '-fPIC',
    '-DNAPI_VERSION=8',
    '-DNODE_GYP_MODULE_NAME=lake_io',
    `-I${join(nodedir, 'include', 'node')}`,
    join(root, 'native', 'lake_io.cc'),
    '-o',
    output,
  ]);
}

function main() {
  if (process.env.LAKE_NATIVE === '0') return log('skipped (LAKE_NATIVE=0)');
  if (process.platform !== 'linux') return log('skipped: the addon uses io_uring (Linux only)');
  const nodedir = headersDir();
  const attempts = [];
  for (const [name, build] of [
    ['node-gyp', nodeGyp],
    ['g++', gxx],
  ]) {
    const r = build(nodedir);
    if (r.ok && existsSync(output) && loads()) return log(`built ${output} with ${name}`);
    attempts.push(
      `${name}: ${r.ok ? 'built but does not load' : r.output.trim().split('\n').slice(-3).join(' / ')}`,
    );
  }
  rmSync(output, { force: true });
  log(`not built; real-device replay will use the libuv fallback (${attempts.join('; ')})`);
}

main();
