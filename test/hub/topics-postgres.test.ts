/**
 * The topic fan-out suite (test/hub/topic-fan-out.ts) on the PostgreSQL engine, on a real
 * PostgreSQL the suite starts: a file of its own so that it runs beside the other engines'.
 */
import { topicFanOut } from './topic-fan-out.ts';

topicFanOut('postgres');
