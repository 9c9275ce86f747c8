/**
 * The Azure Functions v4 handler: the Web handler in `chat.ts` behind `toAzureHandler`, which
 * answers a throwing handler with a JSON 500, ends a failing stream with an `error` event (the
 * runtime itself would send nothing at all), and logs through the invocation's `context`
 * (Application Insights), not `console.error`.
 */
import { type AzureHandler, toAzureHandler } from 'ssekit/adapters/azure-functions';
import { chat } from './chat.ts';

export const chatHandler: AzureHandler = toAzureHandler((request) => chat(request));
