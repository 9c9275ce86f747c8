/**
 * The chat endpoint with the deadline Azure needs: Static Web Apps cuts API requests at 45 s, so
 * the stream ends cleanly at 40 s, with a retry hint, and the client resumes.
 */
import { createChat } from './fake-chat.ts';

export const chat: (request: Request) => Promise<Response> = createChat({ maxDurationMs: 40_000 });
