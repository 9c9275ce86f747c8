/**
 * Type-checks both handlers against Netlify's own types (`tsc` in this folder): the edge function
 * against `@netlify/edge-functions`, the function against `@netlify/functions`.
 */
import type { Config as EdgeConfig, Context as EdgeContext } from '@netlify/edge-functions';
import type { Config, Context } from '@netlify/functions';
import relay, { config as edgeConfig } from './edge-functions/chat-relay.ts';
import handler, { config } from './functions/chat.ts';

type EdgeFunction = (request: Request, context: EdgeContext) => Promise<Response | undefined>;
type NetlifyFunction = (request: Request, context: Context) => Promise<Response>;

export const checked: [EdgeFunction, EdgeConfig, NetlifyFunction, Config] = [
  relay,
  edgeConfig,
  handler,
  config,
];
