/** Errors in words, for people: what failed and, when the server said why, its reason. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, body, cause } = error as { code?: unknown; body?: unknown; cause?: unknown };
  if (error.name === 'TypeError' && /fetch|network|load failed/i.test(error.message)) {
    return 'The server cannot be reached (network error).';
  }
  if (code === 'retry-limit') {
    return `Gave up reconnecting: ${cause === undefined ? error.message : describeError(cause)}`;
  }
  const reason = typeof body === 'string' ? serverReason(body) : undefined;
  return reason ? `${error.message} (${reason})` : error.message;
}

// The demo's JSON errors: {"error": {"code", "message"}}.
function serverReason(body: string): string | undefined {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}
