'use client';
import { useState } from 'react';
/**
 * The page: a client component (hooks run in the browser, hence 'use client' above) that POSTs
 * the prompt to /api/chat and renders the answer as it streams, with `useEventStream`.
 */
import { useEventStream } from 'ssekit/react';

export default function Chat() {
  const [prompt, setPrompt] = useState('Why SSE?');
  const { text, status, error, start, stop } = useEventStream('/api/chat', { maxEvents: 0 });
  return (
    <main>
      <h1>ssekit on Next.js</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          start({ prompt });
        }}
      >
        <input value={prompt} onChange={(event) => setPrompt(event.target.value)} />
        <button type="submit">Ask</button>
        <button type="button" onClick={stop} disabled={status !== 'open'}>
          Stop
        </button>
      </form>
      <p data-testid="status">{status}</p>
      <p data-testid="answer">{text}</p>
      {status === 'error' && <p role="alert">{String(error)}</p>}
    </main>
  );
}
