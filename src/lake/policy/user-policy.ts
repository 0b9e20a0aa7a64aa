import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LakeError } from '../../errors.js';
import {
  DescribedValue,
  type GuardedPlacement,
  type PlacementInput,
  PolicyStoppedError,
} from './placement.js';
import {
  AnswerKind,
  POLICY_LAYOUT,
  PolicyChannel,
  PolicyState,
  type PolicyWorkerData,
  type PolicyWorkerMessage,
} from './user-policy-protocol.js';
import { policyWorkerSource } from './user-policy-worker.js';

const W_STATE = POLICY_LAYOUT.state;

const SIGNATURE =
  'a function of { batchSize, model, interArrivalUs, utilisation, inlineUs, backends } returning a backend name or "inline"';

/** CPU time one placement call may take before the policy is stopped, us. */
export const DEFAULT_POLICY_BUDGET_US = 5000;
/** Time the module may take to load (import and run its top level), ms. */
export const DEFAULT_POLICY_LOAD_BUDGET_MS = 2000;
/** The policy's thread booting (not the user's code; a cold thread on a busy core), ms. */
const BOOT_TIMEOUT_MS = 30_000;
/** A call whose thread gets no CPU at all is given up after this many budgets (and at least 1 s). */
const WALL_CAP_BUDGETS = 100;
/** The caller polls a call this long before it sleeps, us (a simple policy answers in a few us). */
const CALLER_SPIN_US = 50;
/**
 * The policy's thread polls for the next call this long after an answer before it sleeps, us: not at all.
 * On two busy cores (lake's thread, lakeD's, the policy's) a polling policy thread takes the core the
 * caller needs, and calls cost ~60-110 us; woken each time they cost ~12-17 us (lake bench user-policy).
 */
const WORKER_SPIN_US = 0;

export interface UserPolicyOptions {
  /** CPU time per placement call, us (default DEFAULT_POLICY_BUDGET_US). */
  budgetUs?: number;
  /** Time to import the module and run its top level, ms (default DEFAULT_POLICY_LOAD_BUDGET_MS). */
  loadBudgetMs?: number;
}

/** A user policy on its own thread: what it cost per call and whether it had to be stopped. */
export interface UserPolicyStats {
  budgetUs: number;
  loadBudgetMs: number;
  /** Calls answered. */
  calls: number;
  /** Mean round trip of an answered call (encode, the thread's wake-up and the call, decode), us. */
  meanCallUs: number;
  /** Why it was stopped, when it was. */
  stopped?: string;
}

/**
 * Loads a user placement policy (`--policy ./p.js`, LAKE's eBPF hook in user space): an ES module whose
 * default export, or named export `policy`, is a PlacementFunction. The module runs on its own thread,
 * never on the caller's: a placement call is synchronous for the caller (shared memory and Atomics.wait)
 * but bounded. A call that uses more than `budgetUs` of CPU, or a module whose top level does not finish
 * within `loadBudgetMs`, is stopped (its thread terminated) and the policy reports `stopped`: the default
 * placement decides from then on, and the run goes on. A missing file, a module that does not load (a
 * syntax error, a throw at load) or one without such a function is a LAKE_E_USAGE error naming the file.
 * What the function returns is checked on every call by PlacementGuard.
 */
export async function loadUserPolicy(path: string, options: UserPolicyOptions = {}): Promise<IsolatedPolicy> {
  const file = resolve(path);
  const fail = (message: string): never => {
    throw new LakeError('LAKE_E_USAGE', `--policy ${path}: ${message}`);
  };
  const budgetUs = options.budgetUs ?? DEFAULT_POLICY_BUDGET_US;
  const loadBudgetMs = options.loadBudgetMs ?? DEFAULT_POLICY_LOAD_BUDGET_MS;
  if (!(budgetUs > 0 && Number.isFinite(budgetUs)))
    throw new LakeError('LAKE_E_USAGE', `policy budget must be a positive number of us, got ${budgetUs}`);
  if (!(loadBudgetMs > 0 && Number.isFinite(loadBudgetMs)))
    throw new LakeError(
      'LAKE_E_USAGE',
      `policy load budget must be a positive number of ms, got ${loadBudgetMs}`,
    );
  if (!existsSync(file) || !statSync(file).isFile()) fail('no such file');
  const channel = new PolicyChannel();
  const data: PolicyWorkerData = {
    url: pathToFileURL(file).href,
    buffer: channel.buffer,
    spinMicros: WORKER_SPIN_US,
  };
  const worker = new Worker(policyWorkerSource(), {
    eval: true,
    workerData: data,
    // Plain Node, whatever lake itself runs under (tsx in tests): the module loads as `node` loads it.
    execArgv: [],
    // A policy that allocates without end fails its own thread, not lake.
    resourceLimits: { maxOldGenerationSizeMb: 256 },
  });
  worker.unref(); // never keeps the process alive; close() or stop() ends it
  const name = basename(file);
  const outcome = await loadOutcome(worker, loadBudgetMs);
  switch (outcome.kind) {
    case 'loaded':
      return new IsolatedPolicy(name, worker, channel, outcome.task, budgetUs, loadBudgetMs);
    case 'overran': {
      const policy = new IsolatedPolicy(name, worker, channel, outcome.task, budgetUs, loadBudgetMs);
      policy.stop(
        `policy ${name} was stopped: its module did not finish loading within its budget of ${loadBudgetMs} ms; the default placement decides every batch`,
      );
      return policy;
    }
    default:
      await worker.terminate();
      if (outcome.kind === 'no-function') {
        const names = outcome.exports;
        return fail(
          `must export ${SIGNATURE}, as its default export or as \`policy\` (it exports ${names.length === 0 ? 'nothing' : names.join(', ')})`,
        );
      }
      return fail(`the module does not load: ${outcome.message}`);
  }
}

type LoadOutcome =
  | { kind: 'loaded'; task: string | null }
  | { kind: 'overran'; task: string | null }
  | { kind: 'failed'; message: string }
  | { kind: 'no-function'; exports: string[] };

/** Waits for the worker to boot (generously), then for the module to load (within its budget). */
function loadOutcome(worker: Worker, loadBudgetMs: number): Promise<LoadOutcome> {
  return new Promise((done) => {
    let task: string | null = null;
    let timer = setTimeout(
      () => finish({ kind: 'failed', message: `its thread did not start within ${BOOT_TIMEOUT_MS} ms` }),
      BOOT_TIMEOUT_MS,
    );
    const finish = (outcome: LoadOutcome): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      done(outcome);
    };
    const onMessage = (message: PolicyWorkerMessage): void => {
      if (message.type === 'importing') {
        task = message.task;
        clearTimeout(timer);
        timer = setTimeout(() => finish({ kind: 'overran', task }), loadBudgetMs);
      } else if (message.type === 'loaded') finish({ kind: 'loaded', task });
      else if (message.type === 'load-failed') finish({ kind: 'failed', message: message.message });
      else finish({ kind: 'no-function', exports: message.exports });
    };
    const onError = (error: Error): void => finish({ kind: 'failed', message: error.message });
    const onExit = (code: number): void =>
      finish({
        kind: 'failed',
        message: `its thread exited (code ${code}) before the module finished loading (a top-level await that never settles, or process.exit)`,
      });
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/**
 * A user policy running on its own thread. `choose` is synchronous: it writes the input into shared memory,
 * wakes the thread and waits for the answer. Within `budgetUs` of wall-clock time every answer is taken;
 * past it, the thread's CPU time decides (Linux: /proc/self/task/<id>/schedstat), so a thread that merely
 * waited for a core on a busy machine is waited for, and one that computes is stopped once it has used a
 * full budget of CPU since the wall-clock budget ran out. Without per-thread CPU times the wall clock decides.
 */
export class IsolatedPolicy implements GuardedPlacement {
  readonly name: string;
  readonly budgetUs: number;
  readonly loadBudgetMs: number;
  /** The policy thread's id under /proc/self/task (Linux); null where there is none. */
  readonly thread: string | null;
  #stopped: string | undefined;
  readonly #worker: Worker;
  readonly #channel: PolicyChannel;
  readonly #cpuFile: string | null;
  #terminated: Promise<number> | undefined;
  #calls = 0;
  #callUs = 0;

  constructor(
    name: string,
    worker: Worker,
    channel: PolicyChannel,
    task: string | null,
    budgetUs: number,
    loadBudgetMs: number,
  ) {
    this.name = name;
    this.#worker = worker;
    this.#channel = channel;
    this.thread = task;
    this.#cpuFile = task === null ? null : `/proc/self/task/${task}/schedstat`;
    this.budgetUs = budgetUs;
    this.loadBudgetMs = loadBudgetMs;
    worker.on('error', () => {}); // a thread that dies is noticed by the call that gets no answer
  }

  get stopped(): string | undefined {
    return this.#stopped;
  }

  stats(): UserPolicyStats {
    return {
      budgetUs: this.budgetUs,
      loadBudgetMs: this.loadBudgetMs,
      calls: this.#calls,
      meanCallUs: this.#calls > 0 ? this.#callUs / this.#calls : 0,
      ...(this.#stopped !== undefined ? { stopped: this.#stopped } : {}),
    };
  }

  choose(input: PlacementInput): unknown {
    if (this.#stopped !== undefined) throw new PolicyStoppedError(this.#stopped);
    const words = this.#channel.words;
    const started = performance.now();
    this.#channel.writeInput(input);
    Atomics.store(words, W_STATE, PolicyState.requested);
    Atomics.notify(words, W_STATE);
    const overran = this.#wait(started);
    if (overran !== undefined) {
      this.stop(
        `policy ${this.name} was stopped: ${overran} on a batch of ${input.batchSize} (${input.model}); the default placement decides for the rest of the run`,
      );
      throw new PolicyStoppedError(this.#stopped!);
    }
    const answer = this.#channel.readAnswer();
    Atomics.store(words, W_STATE, PolicyState.idle);
    this.#calls++;
    this.#callUs += (performance.now() - started) * 1000;
    if (answer.kind === AnswerKind.string) return answer.text;
    if (answer.kind === AnswerKind.threw) throw new Error(answer.text);
    return new DescribedValue(answer.text);
  }

  /** Waits for the answer; returns why the call overran, or undefined when it was answered. */
  #wait(started: number): string | undefined {
    const words = this.#channel.words;
    const budgetMs = this.budgetUs / 1000;
    const spinUntil = started + CALLER_SPIN_US / 1000;
    while (Atomics.load(words, W_STATE) !== PolicyState.answered && performance.now() < spinUntil) {}
    const wallCapMs = Math.max(1000, WALL_CAP_BUDGETS * budgetMs);
    let cpuMark: number | undefined;
    for (;;) {
      const state = Atomics.load(words, W_STATE);
      if (state === PolicyState.answered) return undefined;
      const now = performance.now();
      const elapsedMs = now - started;
      if (elapsedMs >= budgetMs) {
        if (elapsedMs >= wallCapMs)
          return `a call got no answer within ${Math.round(wallCapMs)} ms (its thread did not run or died)`;
        const cpuNs = this.#threadCpuNs();
        if (cpuNs === null) return 'its thread died during a call';
        if (cpuNs === undefined) return `a call ran past its budget of ${this.budgetUs} us`;
        if (cpuMark === undefined) cpuMark = cpuNs;
        else if ((cpuNs - cpuMark) / 1e3 >= this.budgetUs) {
          return `a call used more than its budget of ${this.budgetUs} us of CPU`;
        }
      }
      const waitMs = elapsedMs < budgetMs ? budgetMs - elapsedMs : budgetMs;
      Atomics.wait(words, W_STATE, state, Math.max(waitMs, 0.05));
    }
  }

  /** The policy thread's CPU time so far, ns; undefined where the system does not say; null: it is gone. */
  #threadCpuNs(): number | null | undefined {
    if (this.#cpuFile === null) return undefined;
    let text: string;
    try {
      text = readFileSync(this.#cpuFile, 'utf8');
    } catch {
      return null;
    }
    const ns = Number(text.split(' ')[0]);
    return Number.isFinite(ns) ? ns : undefined;
  }

  /** Stops the policy: its thread is terminated (mid-call if need be); the default decides from now on. */
  stop(why: string): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = why;
    this.#terminated = this.#worker.terminate();
  }

  /** Ends the policy's thread (it is told to leave its loop, then terminated). */
  async close(): Promise<void> {
    if (this.#terminated === undefined) {
      Atomics.store(this.#channel.words, W_STATE, PolicyState.stop);
      Atomics.notify(this.#channel.words, W_STATE);
      this.#terminated = this.#worker.terminate();
    }
    await this.#terminated;
  }
}
