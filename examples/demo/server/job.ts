/**
 * `POST /api/jobs`: a long job as a resumable hub run that reports `progress` through named phases
 * and ends with its result in `done`. Cancelled through the same endpoint as chat runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestError } from '../../../src/errors.ts';
import type { Hub, RunWriter } from '../../../src/hub/index.ts';
import {
  type EventStreamOptions,
  jsonErrorResponse,
  readJsonBody,
} from '../../../src/server/index.ts';
import type { JobProgress, JobRequest, JobResult } from '../shared.ts';
import type { RunRegistry } from './runs.ts';

/** The phases of a job and their share of the work (steps). */
const PHASES: ReadonlyArray<{ name: string; steps: number }> = [
  { name: 'download', steps: 20 },
  { name: 'analyse', steps: 40 },
  { name: 'render report', steps: 15 },
];
const TOTAL_STEPS = PHASES.reduce((sum, phase) => sum + phase.steps, 0);

/** What the job endpoint needs. */
export interface JobOptions {
  hub: Hub;
  runs: RunRegistry;
  stream: EventStreamOptions;
  /** The pause per step (75 steps). @default 80 */
  stepMs?: number;
}

/** The job handler. */
export function createJobHandler(options: JobOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    const resuming = (request.headers.get('last-event-id') ?? '') !== '';
    let job: JobRequest = { items: 0 };
    if (!resuming) {
      try {
        job = parseJobRequest(await readJsonBody(request, { maxBytes: 4096 }));
      } catch (error) {
        return jsonErrorResponse(error);
      }
    }
    return options.hub.stream(
      request,
      (run) => options.runs.track('job', run, () => runJob(run, job, options.stepMs ?? 80)),
      options.stream,
    );
  };
}

/** Validates `POST /api/jobs`. */
export function parseJobRequest(body: unknown): JobRequest {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Number.isInteger(items) || (items as number) < 10 || (items as number) > 5000) {
    throw new RequestError(
      'bad-request',
      `items must be an integer from 10 to 5000, got ${JSON.stringify(items)}.`,
    );
  }
  return { items: items as number };
}

async function runJob(run: RunWriter, job: JobRequest, stepMs: number): Promise<JobResult> {
  const started = Date.now();
  await run.send({ event: 'run', data: { runId: run.runId } });
  const phases = PHASES.map((phase) => phase.name);
  let done = 0;
  let checksum = 0;
  for (const [phaseIndex, phase] of PHASES.entries()) {
    for (let step = 1; step <= phase.steps; step++) {
      await sleep(stepMs, undefined, { signal: run.signal });
      // Some stand-in work whose result depends on the input, for a result worth showing.
      checksum = (checksum * 31 + job.items * (phaseIndex + 1) + step) % 0xffffffff;
      done++;
      const progress: JobProgress = {
        phase: phase.name,
        fraction: step / phase.steps,
        percent: Math.round((done / TOTAL_STEPS) * 100),
        phaseIndex,
        phases,
      };
      await run.progress({ ...progress });
    }
  }
  return {
    items: job.items,
    checksum: checksum.toString(16).padStart(8, '0'),
    durationMs: Date.now() - started,
    summary: `Processed ${job.items} items in ${PHASES.length} phases.`,
  };
}
