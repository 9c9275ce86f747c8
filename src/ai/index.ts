/**
 * ssekit/ai: durable AI SDK chats on a hub. Each answer's UI message stream runs detached from
 * the request and is stored chunk by chunk, so a reload, a cut, a platform deadline or an
 * instance change resumes it without calling the model again, and stop cancels the model call.
 * The browser side (a `ChatTransport` for `useChat`) is `ssekit/ai/client`. Universal: Web APIs only.
 *
 * @module
 */
export {
  type ChatResumeOptions,
  type ChatRun,
  type ChatStreamOptions,
  type ChatStreams,
  type ChatStreamsOptions,
  createChatStreams,
  type UIMessageChunkLike,
  type UIMessageStreamSource,
} from './chat-streams.ts';
