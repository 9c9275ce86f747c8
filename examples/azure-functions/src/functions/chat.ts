/**
 * Registers POST /api/chat with the Azure Functions v4 programming model.
 */
import { app } from '@azure/functions';
import { chatHandler } from '../handler.ts';

app.http('chat', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'chat',
  handler: chatHandler,
});
