/** A stand-in for an LLM: the same answer for the same prompt, one word every 20 ms. */
export async function* fakeModel(prompt: string, signal: AbortSignal): AsyncGenerator<string> {
  const answer = `You asked: "${prompt}". This answer arrives one token at a time.`;
  for (const token of answer.match(/\S+\s*/g) ?? []) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (signal.aborted) return; // cancelled: POST /api/chat/cancel
    yield token;
  }
}
