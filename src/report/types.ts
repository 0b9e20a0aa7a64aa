/** Latency percentiles of one population of I/Os, in microseconds. */
export interface LatencySummary {
  count: number;
  avgUs: number;
  p50Us: number;
  p90Us: number;
  p95Us: number;
  p99Us: number;
  p999Us: number;
  p9999Us: number;
  maxUs: number;
}

/** One point of an empirical CDF: the fraction of I/Os with latency <= latencyUs. */
export interface CdfPoint {
  latencyUs: number;
  fraction: number;
}

/** Results of one admission policy over a replay, as the report renders them. */
export interface PolicyReport {
  name: string;
  read: LatencySummary;
  write: LatencySummary;
  /** Extra device I/Os issued (hedged duplicates). */
  extraIos: number;
  /** Reads revoked on some replica and failed over. */
  revokes: number;
  /** Read latency per home device. */
  devices: LatencySummary[];
  /** Read-latency CDF, for plotting. */
  cdf: CdfPoint[];
}
