/**
 * ssekit/ai/client: the browser side of `ssekit/ai`, a `ChatTransport` for the AI SDK's
 * `useChat` that resumes answers (after a cut: from the last chunk; after a reload: by chat id)
 * and stops them on the server. Universal: Web APIs only; no server code.
 *
 * @module
 */
export {
  type ChatTransportOptions,
  createChatTransport,
  type ReconnectToStreamOptions,
  type ResumableChatTransport,
  type SendMessagesOptions,
} from './chat-transport.ts';
