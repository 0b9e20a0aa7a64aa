/** The I/O record every trace format reads into and writes from. Times in ms, latency in us, sizes in bytes. */
export interface TraceRecord {
  /** Arrival (scheduled) time in ms from the start of the trace. */
  arrivalMs: number;
  /** Device number as the trace gives it (LinnOS devno, MSR disk number, replayer device index). */
  device: number;
  /** Byte offset. */
  offset: number;
  /** Size in bytes (> 0). */
  size: number;
  /** true = read, false = write. */
  read: boolean;
  /** Measured completion latency in us, where the format records it. */
  latencyUs?: number;
  /** Actual submission time in ms, where the format records it. */
  submitMs?: number;
}

export type TraceFormat = 'linnos-input' | 'linnos-output' | 'heimdall' | 'msr';
export const traceFormats: readonly TraceFormat[] = ['linnos-input', 'linnos-output', 'heimdall', 'msr'];
