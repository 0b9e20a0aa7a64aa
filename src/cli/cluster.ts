/**
 * `lake cluster up|status|down|slow|probe`: a real Ceph test cluster (one monitor, N memstore OSDs, pools
 * r0..rN-1 pinned one to each OSD) started, inspected, slowed and stopped. Parsing and printing only; the
 * work is in src/ceph/.
 */
import type { Command } from 'commander';
import {
  type ClusterStatus,
  clusterDown,
  clusterStatus,
  clusterUp,
  DEFAULT_OSDS,
  DEFAULT_STOP_GRACE_MS,
  DEFAULT_UP_TIMEOUT_MS,
  defaultClusterDir,
  MAX_OSDS,
} from '../ceph/cluster.js';
import { readClusterState, SLOW_CAUSES, type SlowCause } from '../ceph/cluster-state.js';
import { monitorHost } from '../ceph/netns.js';
import {
  defaultProbeTool,
  PROBE_DEFAULTS,
  PROBE_TOOLS,
  type ProbeTool,
  probePools,
} from '../ceph/read-probe.js';
import { SLOW_DEFAULTS, slowOsd, unslowOsd } from '../ceph/slow.js';
import { usageError } from '../errors.js';
import { type ColumnAlign, markdownTable } from '../report/table.js';
import { echoOption, parseIntOption, parseNumberOption } from './options.js';

const print = (text: string): void => void process.stdout.write(text);
const printJson = (value: unknown): void => print(`${JSON.stringify(value, null, 2)}\n`);

/** `--slow 0=noisy,2=cpu`: each OSD of the cluster at most once, each cause one of SLOW_CAUSES. */
export function parseSlowList(text: string, osds: number): { osd: number; cause: SlowCause }[] {
  const seen = new Set<number>();
  return text.split(',').map((item) => {
    const [osdText, causeText, extra] = item.split('=');
    if (osdText === undefined || causeText === undefined || extra !== undefined)
      throw usageError(`--slow takes OSD=CAUSE items separated by commas, got ${echoOption(item)}`);
    const osd = parseIntOption('--slow OSD', osdText, 0, osds - 1);
    if (seen.has(osd)) throw usageError(`--slow names osd.${osd} twice`);
    seen.add(osd);
    return { osd, cause: parseCause(causeText, '--slow CAUSE') };
  });
}

function registerUp(cluster: Command): void {
  cluster
    .command('up')
    .description(
      'start a monitor and N OSDs (memstore, 127.0.0.1, no auth, no mgr) with pools r0..rN-1, one per OSD',
    )
    .option(
      '--osds <n>',
      `OSDs, each in its own CRUSH host with its own pool (1..${MAX_OSDS})`,
      String(DEFAULT_OSDS),
    )
    .option(
      '--dir <path>',
      'folder to create for the cluster (must not exist; default: a new one in the temp dir)',
    )
    .option(
      '--timeout <s>',
      'give up (and stop everything) if not ready by then',
      String(DEFAULT_UP_TIMEOUT_MS / 1000),
    )
    .option('--netns', 'each OSD in a network namespace of its own, as a separate host (root only)')
    .option('--slow <list>', 'slow OSDs once up, as OSD=CAUSE[,OSD=CAUSE] (defaults of lake cluster slow)')
    .option('--json', 'print the cluster record as JSON')
    .action(
      async (flags: {
        osds: string;
        dir?: string;
        timeout: string;
        netns?: boolean;
        slow?: string;
        json?: boolean;
      }) => {
        const osds = parseIntOption('--osds', flags.osds, 1, MAX_OSDS);
        const slow = flags.slow === undefined ? [] : parseSlowList(flags.slow, osds);
        const timeoutS = parseNumberOption('--timeout', flags.timeout, { above: 0 });
        const verbose = flags.json !== true && process.stderr.isTTY === true;
        const started = Date.now();
        const state = await clusterUp({
          osds,
          ...(flags.dir === undefined ? {} : { dir: flags.dir }),
          timeoutMs: timeoutS * 1000,
          netns: flags.netns === true,
          onProgress: (message) => {
            if (verbose) process.stderr.write(`${message}...\n`);
          },
        });
        const seconds = (Date.now() - started) / 1000;
        try {
          for (const { osd, cause } of slow) state.slow.push(await slowOsd(state.dir, { osd, cause }));
        } catch (error) {
          // All or nothing, as for the rest of `up`: a cluster without the slow OSDs asked for is stopped.
          await clusterDown(state.dir, { graceMs: 5000 });
          throw error;
        }
        if (flags.json === true) return printJson({ ...state, startSeconds: seconds });
        const pools = state.pools.map((p) => `${p.name} on osd.${p.osd}`).join(', ');
        print(
          [
            `cluster up in ${seconds.toFixed(1)} s: mon.a on ${monitorHost(state.network)}:${state.monPorts.v2} and ${osds} OSD${osds === 1 ? '' : 's'} (memstore${state.network === undefined ? '' : ', each in its own network namespace'}); pools ${pools}`,
            ...state.slow.map((r) => `osd.${r.osd} slowed by ${r.cause}: ${r.detail}`),
            `conf: ${state.conf}`,
            `stop it with: lake cluster down --dir ${state.dir}`,
            '',
          ].join('\n'),
        );
      },
    );
}

export function statusText(status: ClusterStatus): string {
  const yes = (b: boolean | null): string => (b === null ? '?' : b ? 'yes' : 'no');
  const processes = markdownTable(
    ['process', 'pid', 'running', 'up in osdmap'],
    status.processes.map((p) => {
      const osd = /^osd\.(\d+)$/.exec(p.name);
      const up = osd === null ? '' : yes(status.osds[Number(osd[1])]?.up ?? null);
      return [p.name, String(p.pid), yes(p.running), up];
    }),
    ['left', 'right', 'left', 'left'],
  );
  const pools = markdownTable(
    ['pool', 'role', 'pinned to', 'acting (monitor)'],
    status.pools.map((p) => [
      p.name,
      p.role,
      `osd.${p.pinnedTo}`,
      p.acting === null ? '?' : p.acting.map((o) => `osd.${o}`).join(','),
    ]),
    ['left', 'left', 'left', 'left'],
  );
  const slow =
    status.slow.length === 0
      ? 'no slow causes on'
      : status.slow.map((s) => `osd.${s.osd} slowed by ${s.cause}: ${s.detail}`).join('\n');
  const network =
    status.network === null
      ? []
      : [
          `network: bridge ${status.network.bridge}, monitor ${status.network.monitor}; ${status.network.osds
            .map((o) => `osd.${o.id} ${o.address} in ${o.namespace}`)
            .join(', ')}`,
        ];
  return [
    `cluster ${status.dir} (${status.phase}), conf ${status.conf}`,
    ...network,
    ...(status.monitorError === null ? [] : [`monitor not asked: ${status.monitorError}`]),
    '',
    processes,
    '',
    pools,
    '',
    slow,
    '',
  ].join('\n');
}

function registerStatus(cluster: Command): void {
  cluster
    .command('status')
    .description('the daemons (alive, up), the pools and the OSD each is on, the slow causes in force')
    .option('--dir <path>', 'the cluster folder (default: the one lake cluster in the temp dir)')
    .option('--json', 'print as JSON')
    .action(async (flags: { dir?: string; json?: boolean }) => {
      const status = await clusterStatus(flags.dir ?? defaultClusterDir());
      if (flags.json === true) printJson(status);
      else print(statusText(status));
    });
}

function registerDown(cluster: Command): void {
  cluster
    .command('down')
    .description(
      'stop every process the cluster started (SIGTERM, SIGKILL after --grace) and remove its folder',
    )
    .option('--dir <path>', 'the cluster folder (default: the one lake cluster in the temp dir)')
    .option('--keep', 'keep the folder (conf, logs, record)')
    .option('--grace <s>', 'seconds between SIGTERM and SIGKILL', String(DEFAULT_STOP_GRACE_MS / 1000))
    .option('--json', 'print what was stopped as JSON')
    .action(async (flags: { dir?: string; keep?: boolean; grace: string; json?: boolean }) => {
      const grace = parseNumberOption('--grace', flags.grace, 0);
      const report = await clusterDown(flags.dir ?? defaultClusterDir(), {
        keep: flags.keep === true,
        graceMs: grace * 1000,
      });
      if (flags.json === true) return printJson(report);
      const killed = report.killed.length === 0 ? '' : ` (${report.killed.join(', ')} needed SIGKILL)`;
      const stopped =
        report.stopped.length === 0 ? 'nothing was running' : `stopped ${report.stopped.join(', ')}`;
      print(`${stopped}${killed}; ${report.removed ? 'removed' : 'kept'} ${report.dir}\n`);
    });
}

interface SlowFlags {
  dir?: string;
  osd: string;
  cause?: string;
  off?: boolean;
  delayMs: string;
  probability: string;
  cpuPercent: string;
  noisyOps: string;
  noisyKib: string;
  json?: boolean;
}

function parseCause(text: string, flag = '--cause'): SlowCause {
  if (!SLOW_CAUSES.includes(text as SlowCause))
    throw usageError(`${flag} must be one of ${SLOW_CAUSES.join(', ')}, got ${echoOption(text)}`);
  return text as SlowCause;
}

function registerSlow(cluster: Command): void {
  cluster
    .command('slow')
    .description('slow one OSD by a real cause (noisy neighbour, Ceph injected delays, CPU quota), or --off')
    .requiredOption('--osd <n>', 'the OSD to slow')
    .option('--cause <cause>', `${SLOW_CAUSES.join('|')}`)
    .option('--off', 'turn off --cause (default: every cause) on the OSD')
    .option('--delay-ms <ms>', 'inject: delay per delayed message', String(SLOW_DEFAULTS.delayMs))
    .option('--probability <p>', 'inject: share of messages delayed', String(SLOW_DEFAULTS.probability))
    .option('--cpu-percent <p>', 'cpu: the OSD quota in percent of one CPU', String(SLOW_DEFAULTS.cpuPercent))
    .option('--noisy-ops <n>', 'noisy: writes in flight', String(SLOW_DEFAULTS.noisyOps))
    .option('--noisy-kib <n>', 'noisy: size of each write (KiB)', String(SLOW_DEFAULTS.noisyBytes / 1024))
    .option('--dir <path>', 'the cluster folder (default: the one lake cluster in the temp dir)')
    .option('--json', 'print as JSON')
    .action(async (flags: SlowFlags) => {
      const dir = flags.dir ?? defaultClusterDir();
      const osd = parseIntOption('--osd', flags.osd, 0, MAX_OSDS - 1);
      const cause = flags.cause === undefined ? undefined : parseCause(flags.cause);
      if (flags.off === true) {
        const off = await unslowOsd(dir, osd, cause);
        if (flags.json === true) return printJson({ off });
        return print(
          off.length === 0
            ? `osd.${osd}: no slow cause was on\n`
            : `osd.${osd}: turned off ${off.map((s) => s.cause).join(', ')}\n`,
        );
      }
      if (cause === undefined) throw usageError('lake cluster slow needs --cause or --off');
      const record = await slowOsd(dir, {
        osd,
        cause,
        delayMs: parseNumberOption('--delay-ms', flags.delayMs, { above: 0 }),
        probability: parseNumberOption('--probability', flags.probability, { above: 0, max: 1 }),
        cpuPercent: parseNumberOption('--cpu-percent', flags.cpuPercent, { min: 1, max: 100 }),
        noisyOps: parseIntOption('--noisy-ops', flags.noisyOps, 1, 1024),
        noisyBytes: parseIntOption('--noisy-kib', flags.noisyKib, 4, 16_384) * 1024,
      });
      if (flags.json === true) return printJson(record);
      print(`osd.${osd} slowed by ${cause}: ${record.detail}\n`);
    });
}

function parseTool(text: string): ProbeTool {
  if (!PROBE_TOOLS.includes(text as ProbeTool))
    throw usageError(`--tool must be one of ${PROBE_TOOLS.join(', ')}, got ${echoOption(text)}`);
  return text as ProbeTool;
}

function registerProbe(cluster: Command): void {
  cluster
    .command('probe')
    .description(
      '4 KiB random reads per pinned pool with rados bench at a fixed queue depth: IOPS and latency',
    )
    .option('--pools <list>', 'pools to probe (default: every replica pool)')
    .option('--seconds <s>', 'seconds of reads per pool', String(PROBE_DEFAULTS.seconds))
    .option('--queue-depth <n>', 'reads in flight', String(PROBE_DEFAULTS.queueDepth))
    .option('--rounds <n>', 'rounds per pool, pools interleaved; medians reported', '1')
    .option(
      '--tool <tool>',
      'fio (rados engine; latency percentiles) or rados-bench (default: fio if installed)',
    )
    .option('--dir <path>', 'the cluster folder (default: the one lake cluster in the temp dir)')
    .option('--json', 'print as JSON')
    .action(
      async (flags: {
        pools?: string;
        seconds: string;
        queueDepth: string;
        rounds: string;
        tool?: string;
        dir?: string;
        json?: boolean;
      }) => {
        const state = readClusterState(flags.dir ?? defaultClusterDir());
        const replicas = state.pools.filter((p) => p.role === 'replica').map((p) => p.name);
        const pools = flags.pools === undefined ? replicas : flags.pools.split(',');
        for (const pool of pools)
          if (!state.pools.some((p) => p.name === pool))
            throw usageError(
              `--pools: ${echoOption(pool)} is not a pool of this cluster (${replicas.join(', ')})`,
            );
        const seconds = parseIntOption('--seconds', flags.seconds, 1, 600);
        const queueDepth = parseIntOption('--queue-depth', flags.queueDepth, 1, 256);
        const rounds = parseIntOption('--rounds', flags.rounds, 1, 100);
        const tool = flags.tool === undefined ? defaultProbeTool() : parseTool(flags.tool);
        const probes = await probePools(state.conf, pools, { seconds, queueDepth, rounds, tool });
        if (flags.json === true)
          return printJson({ slow: state.slow, tool, seconds, queueDepth, rounds, probes });
        const osdOf = (pool: string): number => state.pools.find((p) => p.name === pool)?.osd ?? -1;
        const slowOn = (osd: number): string =>
          state.slow
            .filter((s) => s.osd === osd)
            .map((s) => s.cause)
            .join(',') || '-';
        const rows = probes.map((p) => [
          p.pool,
          `osd.${osdOf(p.pool)}`,
          slowOn(osdOf(p.pool)),
          String(p.reads),
          p.medianIops.toFixed(0),
          p.medianAvgLatencyMs.toFixed(3),
          ...(tool === 'fio'
            ? [p.medianP50Ms ?? Number.NaN, p.medianP99Ms ?? Number.NaN, p.medianP999Ms ?? Number.NaN].map(
                (v) => v.toFixed(3),
              )
            : []),
          p.maxLatencyMs.toFixed(1),
        ]);
        const percentiles = tool === 'fio' ? ['p50 ms', 'p99 ms', 'p99.9 ms'] : [];
        const headers = ['pool', 'osd', 'slowed by', 'reads', 'IOPS', 'avg ms', ...percentiles, 'max ms'];
        const align: ColumnAlign[] = [
          'left',
          'left',
          'left',
          ...headers.slice(3).map((): ColumnAlign => 'right'),
        ];
        print(`${markdownTable(headers, rows, align)}\n`);
        const summary =
          rounds === 1
            ? ''
            : `; IOPS, avg and percentiles are medians of ${rounds} rounds, pools interleaved`;
        print(
          `4 KiB random reads, queue depth ${queueDepth}, ${seconds} s per pool per round (${tool === 'fio' ? 'fio, rados engine; latency from submission' : 'rados bench rand'})${summary}\n`,
        );
      },
    );
}

export function registerCluster(program: Command): void {
  const cluster = program
    .command('cluster')
    .description(
      'a real Ceph test cluster: up, status, slow, probe, down (needs ceph-mon, ceph-osd, ceph-common)',
    );
  registerUp(cluster);
  registerStatus(cluster);
  registerDown(cluster);
  registerSlow(cluster);
  registerProbe(cluster);
}
