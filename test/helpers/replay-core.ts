/**
 * The replay core (src/array/core/tries.ts) driven directly, without either engine: a scripted clock that
 * moves only when told (or when a scheduled action is run) and devices that only note what was issued.
 */
import { emptyReplayResult, type ReplayResult } from '../../src/array/core/records.js';
import {
  type CoreAction,
  type ReplayClock,
  ReplayCore,
  type ReplayDevices,
} from '../../src/array/core/tries.js';
import type { AdmissionPolicy } from '../../src/array/policy.js';
import type { IoRecord } from '../../src/array/types.js';

export interface Issued {
  t: number;
  device: number;
  read: boolean;
  atUs: number;
}

/** A clock that moves only when set or when a scheduled action is run, and devices that note what they were given. */
export class ScriptedEngine implements ReplayClock, ReplayDevices {
  now = 0;
  readonly issued: Issued[] = [];
  nowUs(): number {
    return this.now;
  }
  issue(t: number, device: number, read: boolean): void {
    this.issued.push({ t, device, read, atUs: this.now });
  }
  readonly peekReadUs = (): number => 0;
  /** Runs the core's earliest scheduled action at its time. */
  runNext(core: ReplayCore): CoreAction {
    this.now = core.nextActionUs();
    return core.runNextAction();
  }
}

export interface ScriptedCoreOptions {
  /** The replay's origin on the clock (default 0). */
  originUs?: number;
  /** Where the clock starts (default originUs). */
  startUs?: number;
  chargesInference?: boolean;
}

/** A core over 3 replicas (revoke cost 7 us, LinnOS's LC reads on) with the scripted engine as clock and devices. */
export function scriptedCore(
  policy: AdmissionPolicy,
  options: ScriptedCoreOptions = {},
): { core: ReplayCore; engine: ScriptedEngine; result: ReplayResult; records: IoRecord[] } {
  const originUs = options.originUs ?? 0;
  const engine = new ScriptedEngine();
  engine.now = options.startUs ?? originUs;
  const result = emptyReplayResult();
  const records: IoRecord[] = [];
  const core = new ReplayCore({
    policy,
    replicas: 3,
    revokeCostUs: 7,
    lcReads: true,
    clock: engine,
    devices: engine,
    originUs,
    outputs: { onRecord: (r) => records.push(r) },
    result,
    ...(options.chargesInference === undefined ? {} : { chargesInference: options.chargesInference }),
  });
  return { core, engine, result, records };
}
