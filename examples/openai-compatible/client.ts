/**
 * The official `openai` SDK against the ssekit endpoint: nothing ssekit-specific on this side.
 */
import OpenAI from 'openai';

export async function* streamCompletion(baseURL: string, prompt: string): AsyncGenerator<string> {
  const client = new OpenAI({ baseURL, apiKey: 'not-needed', maxRetries: 0 });
  const stream = await client.chat.completions.create({
    model: 'fake-1',
    stream: true,
    messages: [{ role: 'user', content: prompt }],
  });
  for await (const chunk of stream) {
    const text = chunk.choices[0]?.delta?.content;
    if (text) yield text;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const baseURL = process.argv[2] ?? 'http://localhost:3000/v1';
  for await (const token of streamCompletion(baseURL, 'What is ssekit?'))
    process.stdout.write(token);
  process.stdout.write('\n');
}
