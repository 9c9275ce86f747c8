import { useChat } from '@ai-sdk/react';
import type { UIMessage } from 'ai';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { createChatTransport } from '../../../src/ai/client.ts';
import type { RunRecord } from '../shared.ts';
import { describeError } from './describe-error.ts';

/** ssekit's transport for `useChat`: resumes cut answers, reconnects after a reload, stops runs. */
const transport = createChatTransport({ api: '/api/ai/chat' });
/** The chat of this tab survives a reload (sessionStorage), not the tab. */
const STORAGE_KEY = 'ssekit-demo-ai-chat';

function storedChatId(): string {
  const stored = sessionStorage.getItem(STORAGE_KEY);
  if (stored) return stored;
  return newChatId();
}

function newChatId(): string {
  const id = crypto.randomUUID();
  sessionStorage.setItem(STORAGE_KEY, id);
  return id;
}

/** The model calls of a chat, from the server's record of its runs. */
async function modelCalls(chatId: string): Promise<RunRecord[]> {
  const response = await fetch('/api/debug/runs');
  const { runs } = (await response.json()) as { runs: RunRecord[] };
  return runs.filter((run) => run.kind === 'ai-chat' && run.chatId === chatId);
}

/**
 * AI chat: the AI SDK's `useChat` with ssekit's transport (ssekit/ai/client) against
 * `createChatStreams` (ssekit/ai). Reload mid-answer: the answer continues from the server's log,
 * the model is not called again. Stop cancels the run on the server: the model stops.
 */
export function AiChatPanel() {
  const [chatId, setChatId] = useState(storedChatId);
  // The chat as the server stored it (the user's messages, the answers that ended): what a real
  // app loads from its database before it renders the chat.
  const [initial, setInitial] = useState<UIMessage[]>();
  useEffect(() => {
    const controller = new AbortController();
    setInitial(undefined);
    fetch(`/api/ai/chat/${chatId}/messages`, { signal: controller.signal })
      .then((response) => response.json() as Promise<UIMessage[]>)
      .then(setInitial, () => {});
    return () => controller.abort();
  }, [chatId]);
  return (
    <section className="panel ai-chat" aria-labelledby="ai-chat-title" data-chat-id={chatId}>
      {initial ? (
        <AiChat
          key={chatId}
          chatId={chatId}
          initial={initial}
          onNew={() => setChatId(newChatId())}
        />
      ) : (
        <header>
          <h2 id="ai-chat-title">AI SDK chat</h2>
          <span className="status status-connecting">loading…</span>
        </header>
      )}
    </section>
  );
}

function AiChat(props: { chatId: string; initial: UIMessage[]; onNew: () => void }) {
  const { chatId } = props;
  const { messages, sendMessage, stop, status, error } = useChat({
    id: chatId,
    messages: props.initial,
    transport,
    resume: true, // after a reload, reconnect to the answer in progress
  });
  const [draft, setDraft] = useState('What happens if I reload now?');
  const [resumed, setResumed] = useState(false);
  const [calls, setCalls] = useState<RunRecord[]>([]);
  const [notice, setNotice] = useState('');
  const sent = useRef(false);
  const busy = status === 'submitted' || status === 'streaming';

  // An answer that streams without a send from this page is the one in progress before a reload.
  useEffect(() => {
    if (status === 'streaming' && !sent.current) setResumed(true);
  }, [status]);
  // The model's calls for this chat, as the server counts them: one per answer, whatever happens.
  useEffect(() => {
    let current = true;
    const refresh = () =>
      modelCalls(chatId).then(
        (found) => current && setCalls(found),
        () => {},
      );
    void refresh();
    const timer = busy ? setInterval(refresh, 1000) : undefined;
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [chatId, busy]);
  const list = useRef<HTMLDivElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: follow the answer as it grows
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [messages]);

  const send = (event: FormEvent) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text || busy) return;
    sent.current = true;
    setResumed(false);
    setNotice('');
    setDraft('');
    void sendMessage({ text });
  };

  const stopAnswer = async () => {
    await stop(); // the transport cancels the run on the server: the model's abort signal fires
    // The cancel request is on its way: wait (a little) for the server to record the call's end.
    let found = await modelCalls(chatId);
    for (let attempt = 0; attempt < 20 && found.at(-1)?.state === 'running'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      found = await modelCalls(chatId);
    }
    setCalls(found);
    const last = found.at(-1);
    setNotice(
      last?.state === 'cancelled'
        ? `Stopped: the model call was cancelled on the server after ${last.tokens} tokens.`
        : 'Stopped.',
    );
  };

  const label = status === 'submitted' ? 'connecting…' : status;
  return (
    <>
      <header>
        <h2 id="ai-chat-title">AI SDK chat</h2>
        <span
          className={`status status-${busy ? 'open' : status === 'error' ? 'error' : 'closed'}`}
          data-status={status}
          title="useChat status"
        >
          <span className="dot" aria-hidden="true" />
          {label}
        </span>
      </header>
      <div className="messages" aria-live="polite" ref={list}>
        {messages.map((message, index) => (
          <div key={message.id}>
            {resumed && index === messages.length - 1 && message.role === 'assistant' && (
              <mark
                className="resumed"
                data-testid="ai-resumed"
                title="This page was reloaded while the answer streamed"
              >
                ↻ resumed after reload, replayed from the server's log
              </mark>
            )}
            <p
              className={`message ${message.role}`}
              data-testid={`ai-${message.role}`}
              data-streaming={busy && index === messages.length - 1 && message.role === 'assistant'}
            >
              {message.parts.map((part) => (part.type === 'text' ? part.text : '')).join('')}
            </p>
          </div>
        ))}
        {messages.length === 0 && (
          <p className="hint">
            Ask, then reload the page while the answer streams: it goes on where it was, and the
            model is called once.
          </p>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {describeError(error)}
        </p>
      )}
      {notice && (
        <p className="notice" data-testid="ai-notice">
          {notice}
        </p>
      )}
      <p className="notice" data-testid="ai-model-calls" data-calls={calls.length}>
        Model calls in this chat: {calls.length}
        {calls.length > 0 && ` (last: ${calls.at(-1)?.state}, ${calls.at(-1)?.tokens} tokens)`}
      </p>
      <form onSubmit={send} className="composer">
        <input
          aria-label="Prompt"
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          placeholder="Prompt"
        />
        <button type="submit" disabled={busy || draft.trim() === ''}>
          Ask
        </button>
        <button
          type="button"
          onClick={() => void stopAnswer()}
          disabled={!busy}
          className="secondary"
        >
          Stop
        </button>
        <button type="button" onClick={props.onNew} disabled={busy} className="secondary">
          New chat
        </button>
      </form>
    </>
  );
}
