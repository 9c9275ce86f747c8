/**
 * The Azure Functions v4 handler: the Web handler in `chat.ts` behind `toAzureHandler`, which
 * answers a throwing handler with a JSON 500 and ends a failing stream with an `error` event
 * (the runtime itself would send nothing at all).
 */
import { type AzureHandler, toAzureHandler } from '../../../src/adapters/azure-functions.ts';
import { chat } from './chat.ts';

export const chatHandler: AzureHandler = toAzureHandler((request) => chat(request));
