import type { WorkerError, WorkerErrorCode } from '../protocol/worker';

/** An error with a protocol code, thrown inside the worker and sent to the host as a {@link WorkerError}. */
export class CodedError extends Error {
  constructor(
    readonly code: WorkerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function toWorkerError(e: unknown): WorkerError {
  if (e instanceof CodedError) return { code: e.code, message: e.message };
  if (e instanceof Error && e.name === 'AttentionUnavailableError') return { code: 'attentionUnavailable', message: e.message };
  if (e instanceof Error && e.name === 'OnnxFormatError') return { code: 'badModel', message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}
