/**
 * Type-checks both handlers against Netlify's own types (`npm run typecheck`): the edge function
 * against `@netlify/edge-functions`, the function and its config against `@netlify/functions`.
 * (The edge function's `config` is a plain object literal: Netlify reads it from the source.)
 */
import type { Context as EdgeContext } from '@netlify/edge-functions';
import type { Config, Context } from '@netlify/functions';
import relay from './edge-functions/chat-relay.ts';
import handler, { config } from './functions/chat.ts';

type EdgeFunction = (request: Request, context: EdgeContext) => Promise<Response | undefined>;
type NetlifyFunction = (request: Request, context: Context) => Promise<Response>;

export const checked: [EdgeFunction, NetlifyFunction, Config] = [relay, handler, config];
