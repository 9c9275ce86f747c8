/**
 * The shared chat endpoint, with the deadline Azure needs: Static Web Apps cuts API requests at
 * 45 s, so the stream ends cleanly before, with a retry hint, and the client resumes.
 */
import { createChat } from '../../shared/fake-chat.ts';

export const chat: (request: Request) => Promise<Response> = createChat({ maxDurationMs: 40_000 });
