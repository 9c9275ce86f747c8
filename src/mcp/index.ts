/**
 * ssekit/mcp: resumable MCP servers. An `EventStore` for the Streamable HTTP server transport of
 * `@modelcontextprotocol/sdk`, on a hub's engine (memory, or Redis across instances), with replay
 * scoped to the session that owns the stream. Universal: Web APIs only.
 *
 * @module
 */
export {
  createMcpEventStore,
  type McpEventStore,
  type McpEventStoreOptions,
} from './event-store.ts';
