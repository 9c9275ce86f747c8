import type { UseEventStreamResult } from '../../../src/react/index.ts';
import { describeError } from './describe-error.ts';

type StreamState = Pick<UseEventStreamResult, 'status' | 'retry' | 'error'>;

/** The state of a panel's connection, in words. */
export function ConnectionStatus({ stream }: { stream: StreamState }) {
  const { status, retry } = stream;
  const label =
    status === 'reconnecting' && retry
      ? `reconnecting in ${(retry.delayMs / 1000).toFixed(1)} s (attempt ${retry.attempt})`
      : status === 'connecting'
        ? 'connecting…'
        : status;
  return (
    <span className={`status status-${status}`} data-status={status} title="Connection state">
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

/** The error of a failed stream, when there is one. */
export function StreamError({ stream }: { stream: StreamState }) {
  if (stream.status !== 'error') return null;
  return (
    <p className="error" role="alert">
      {describeError(stream.error)}
    </p>
  );
}
