/**
 * ssekit/hub: resumable runs that survive platform timeouts and reconnects, and broadcast topics
 * with replay, over a storage engine (memory here, Redis in `ssekit/hub/redis`).
 *
 * @module
 */

export type { TopicHistoryEvent } from './_history.ts';
export type { AuthorizeTopic, TopicDenial } from './_multiplex.ts';
export type { TopicPresence } from './_presence.ts';
export type {
  AppendOptions,
  HubEngine,
  LogEntry,
  LogTail,
  StoredEvent,
} from './engine.ts';
export { createHub, type Hub } from './hub.ts';
export { createMemoryEngine, type MemoryEngineOptions } from './memory-engine.ts';
export type { HubOptions, RetentionOptions } from './options.ts';
export type {
  ContractRunProducer,
  ContractTopicEvent,
  HistoryOptions,
  HubObserver,
  HubStreamOptions,
  ObservedRunStart,
  RunEndReason,
  RunObserver,
  RunProducer,
  RunWriter,
  SubscribeManyOptions,
  SubscribeOptions,
} from './types.ts';
