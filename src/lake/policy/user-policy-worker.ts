/**
 * The thread a user placement policy runs on (`--policy ./p.js`). Its source is plain JavaScript run with
 * `eval: true`, not a module of lake's: under tsx (tests, running from source) a worker module would run
 * with tsx's loader, which reads a user's `.js` file outside a `"type": "module"` package as CommonJS and
 * fails on its `export`; plain Node (what dist/ runs on) detects ES module syntax. An eval'd thread imports
 * the user's module exactly as `node` would, and boots in milliseconds.
 *
 * It imports the module, posts what it found, then answers placement calls through the shared buffer
 * (user-policy-protocol.ts) until told to stop. It never returns to its event loop while it serves, so
 * the caller can stop it mid-call with worker.terminate().
 */
import { AnswerKind, POLICY_LAYOUT, PolicyState } from './user-policy-protocol.js';

/** The thread's source, with the buffer's layout and the protocol's constants written in. */
export function policyWorkerSource(): string {
  return `'use strict';
const { readlinkSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const L = ${JSON.stringify(POLICY_LAYOUT)};
const S = ${JSON.stringify(PolicyState)};
const A = ${JSON.stringify(AnswerKind)};
const { url, buffer, spinMicros } = workerData;
const words = new Int32Array(buffer, 0, L.words);
const scalars = new Float64Array(buffer, L.scalarsOffset, L.scalars);
const inputBytes = new Uint8Array(buffer, L.inputOffset, L.inputBytes);
const answerBytes = new Uint8Array(buffer, L.answerOffset, L.answerBytes);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function procTask() {
  try {
    return readlinkSync('/proc/thread-self').split('/').pop() || null;
  } catch {
    return null;
  }
}

function readInput() {
  const rest = JSON.parse(decoder.decode(inputBytes.slice(0, words[L.inputLength])));
  return {
    batchSize: scalars[0],
    model: rest.model,
    interArrivalUs: scalars[1],
    utilisation: scalars[2],
    inlineUs: scalars[3],
    backends: rest.backends,
  };
}

function writeAnswer(kind, text) {
  let body = text;
  if (text.length * 3 > L.answerBytes && encoder.encode(text).length > L.answerBytes) {
    body = kind === A.string ? 'a string of ' + text.length + ' characters' : text.slice(0, 200) + '... (' + text.length + ' characters)';
    if (kind === A.string) kind = A.described;
  }
  words[L.answerKind] = kind;
  words[L.answerLength] = encoder.encodeInto(body, answerBytes).written;
}

function describe(value) {
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && typeof value.then === 'function') {
    // A promise that rejects later must not take the thread down with an unhandled rejection.
    Promise.resolve(value).catch(() => {});
    return 'a promise (placement must be synchronous)';
  }
  return typeof value === 'object' ? 'an object' : 'a ' + typeof value;
}

function answer(place) {
  let value;
  try {
    value = place(readInput());
  } catch (error) {
    writeAnswer(A.threw, error instanceof Error ? error.message : String(error));
    return;
  }
  if (typeof value === 'string') writeAnswer(A.string, value);
  else writeAnswer(A.described, describe(value));
}

function serve(place) {
  const spinMs = spinMicros / 1000;
  for (;;) {
    let state = Atomics.load(words, L.state);
    if (state !== S.requested && state !== S.stop && spinMs > 0) {
      const until = performance.now() + spinMs;
      do state = Atomics.load(words, L.state);
      while (state !== S.requested && state !== S.stop && performance.now() < until);
    }
    while (state !== S.requested && state !== S.stop) {
      Atomics.wait(words, L.state, state);
      state = Atomics.load(words, L.state);
    }
    if (state === S.stop) return;
    Atomics.store(words, L.state, S.running);
    Atomics.notify(words, L.state);
    answer(place);
    Atomics.store(words, L.state, S.answered);
    Atomics.notify(words, L.state);
  }
}

(async () => {
  parentPort.postMessage({ type: 'importing', task: procTask() });
  let namespace;
  try {
    namespace = await import(url);
  } catch (error) {
    parentPort.postMessage({ type: 'load-failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  const place = typeof namespace.default === 'function' ? namespace.default : namespace.policy;
  if (typeof place !== 'function') {
    parentPort.postMessage({ type: 'no-function', exports: Object.keys(namespace) });
    return;
  }
  parentPort.postMessage({ type: 'loaded' });
  serve(place);
})();
`;
}
