/** The run id inside an event id of a hub run (`<runId>.<seq>`), or "". */
export function runIdOf(lastEventId: string): string {
  const dot = lastEventId.lastIndexOf('.');
  return dot === -1 ? '' : lastEventId.slice(0, dot);
}

/** Cancels a run on the server; false when it had finished already (or is unknown). */
export async function cancelRun(runId: string): Promise<boolean> {
  const response = await fetch('/api/runs/cancel', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ runId }),
  });
  return response.status === 202;
}
