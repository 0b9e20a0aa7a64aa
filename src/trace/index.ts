/** The trace concern's public API: formats, readers, writers, workload generators, statistics. */

export { formatBlkparse, parseBlkparse, readBlkparseEvents, readBlkparseRecords } from './blkparse.js';
export type { BlkPairing, BlkPairingStats, BlkTraceEvent } from './blktrace.js';
export {
  encodeBlktrace,
  pairBlkEvents,
  parseBlktrace,
  readBlktraceEvents,
  readBlktraceRecords,
} from './blktrace.js';
export type { FormatDetection } from './detect.js';
export { detectLineFormat, detectTraceFormat } from './detect.js';
export { parseDecimal } from './fields.js';
export type { LineParser } from './parse.js';
export { createLineParser, requiredColumns, traceColumns, traceSeparators } from './parse.js';
export type { Distribution } from './quantiles.js';
export { DEFAULT_MAX_DISTINCT, ValueCounter } from './quantiles.js';
export type { ReadAllResult, ReadSummary, ReadTraceOptions } from './read.js';
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_KEPT_ERRORS,
  openTrace,
  readTrace,
  readTraceAll,
  TraceReader,
} from './read.js';
export type { OpStats, RecordStats, TraceStats } from './stats.js';
export { recordStats, TraceStatsAccumulator, traceStats } from './stats.js';
export type {
  ProfileName,
  SizeModel,
  SizeSpec,
  SynthOptions,
  WorkloadProfile,
  WriteBurstOptions,
} from './synth.js';
export {
  DEFAULT_SPAN_BYTES,
  defaultWriteBursts,
  MAX_SIZE_Z,
  PAGE_BYTES,
  profileNames,
  profiles,
  sizeModel,
  synthesize,
  synthesizeMix,
} from './synth.js';
export type { TraceFormat, TraceRecord } from './types.js';
export { traceFormats } from './types.js';
export type { WriteSummary, WriteTraceOptions } from './write.js';
export { createFormatter, MSR_EPOCH_SECONDS, writeTrace } from './write.js';
