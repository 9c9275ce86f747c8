/**
 * The topic fan-out suite (test/hub/topic-fan-out.ts) on the Redis engine, on a real
 * redis-server the suite starts: a file of its own so that it runs beside the other engines'.
 */
import { topicFanOut } from './topic-fan-out.ts';

topicFanOut('redis');
