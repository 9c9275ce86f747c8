/**
 * Runs once when the worker starts. Without `enableHttpStream` the runtime buffers the whole
 * response and the client gets every event at the end.
 */
import { app } from '@azure/functions';

app.setup({ enableHttpStream: true });
