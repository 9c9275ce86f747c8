import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import { useEventStream } from '../../../src/react/index.ts';
import type { ChatMessage } from '../shared.ts';
import { ConnectionStatus, StreamError } from './connection-status.tsx';
import { cancelRun, runIdOf } from './runs.ts';

/** A past answer, with where its stream was resumed. */
interface Answer {
  content: string;
  markers: number[];
  stopped: boolean;
}
type Turn = { role: 'user'; content: string } | ({ role: 'assistant' } & Answer);

/**
 * Chat: the conversation is POSTed, the answer streams token by token. The server cuts each
 * response at its deadline; the client resumes with Last-Event-ID, and a marker shows where.
 */
export function ChatPanel({ resumable }: { resumable: boolean }) {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState('How do resumable streams work?');
  const [markers, setMarkers] = useState<number[]>([]);
  const [stopped, setStopped] = useState(false);
  const [runId, setRunId] = useState('');
  const [notice, setNotice] = useState('');
  const stream = useEventStream('/api/chat', {
    maxEvents: 0, // only the text matters
    onEvent(event) {
      if (event.type === 'run') setRunId((JSON.parse(event.data) as { runId: string }).runId);
    },
    // The text so far is where the connection dropped: the resumed answer continues from there.
    onRetry: ({ text }) => setMarkers((current) => [...current, text.length]),
    // stop() cancels a hub run itself when the response named it (ssekit-run-id).
    async onStop({ outcome }) {
      if (outcome === 'cancelled') setNotice('Stopped: the run was cancelled on the server.');
      else if (outcome !== 'not-cancellable') setNotice('Stopped.');
      else if (!resumable || !stopping.current) {
        setNotice('Stopped: the request was aborted, which also aborts the upstream request.');
      } else {
        // A run the response did not name: cancel it through the demo's endpoint.
        const cancelled = await cancelRun(stopping.current);
        setNotice(cancelled ? 'Stopped: the run was cancelled on the server.' : 'Stopped.');
      }
    },
  });
  const stopping = useRef('');
  const busy = ['connecting', 'open', 'reconnecting'].includes(stream.status);
  const live = stream.status !== 'idle';
  const list = useRef<HTMLDivElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: follow the answer as it grows
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [stream.text, turns]);

  const send = (event: FormEvent) => {
    event.preventDefault();
    const content = draft.trim();
    if (!content || busy) return;
    const previous: Turn[] =
      live && stream.text !== ''
        ? [{ role: 'assistant', content: stream.text, markers, stopped }]
        : [];
    const next: Turn[] = [...turns, ...previous, { role: 'user', content }];
    setTurns(next);
    setMarkers([]);
    setStopped(false);
    setRunId('');
    setNotice('');
    setDraft('');
    const messages: ChatMessage[] = next.map(({ role, content }) => ({ role, content }));
    stream.start({ messages });
  };

  const stop = () => {
    stopping.current = runId || runIdOf(stream.lastEventId);
    stream.stop(); // stops the run on the server, then aborts the request (onStop says how)
    setStopped(true);
  };

  return (
    <section className="panel chat" aria-labelledby="chat-title" data-run-id={runId}>
      <header>
        <h2 id="chat-title">Chat</h2>
        <ConnectionStatus stream={stream} />
      </header>
      <div className="messages" aria-live="polite" ref={list}>
        {turns.map((turn, index) =>
          turn.role === 'user' ? (
            // biome-ignore lint/suspicious/noArrayIndexKey: turns are only ever appended
            <p key={index} className="message user">
              {turn.content}
            </p>
          ) : (
            // biome-ignore lint/suspicious/noArrayIndexKey: turns are only ever appended
            <AnswerView key={index} answer={turn} />
          ),
        )}
        {live && (
          <AnswerView
            answer={{ content: stream.text, markers, stopped }}
            streaming={busy}
            current
          />
        )}
        {turns.length === 0 && !live && (
          <p className="hint">Ask anything: the built-in model explains what you are watching.</p>
        )}
      </div>
      <StreamError stream={stream} />
      {notice && (
        <p className="notice" data-testid="chat-notice">
          {notice}
        </p>
      )}
      <form onSubmit={send} className="composer">
        <input
          aria-label="Message"
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          placeholder="Message"
        />
        <button type="submit" disabled={busy || draft.trim() === ''}>
          Send
        </button>
        <button type="button" onClick={stop} disabled={!busy} className="secondary">
          Stop
        </button>
      </form>
    </section>
  );
}

function AnswerView(props: { answer: Answer; streaming?: boolean; current?: boolean }) {
  const { content, markers, stopped } = props.answer;
  const parts: ReactNode[] = [];
  let from = 0;
  // Markers are only ever appended, so their position in the list is a stable key.
  markers.forEach((at, index) => {
    parts.push(
      // biome-ignore lint/suspicious/noArrayIndexKey: see above
      <span className="segment" key={`s${index}`}>
        {content.slice(from, at)}
      </span>,
      // biome-ignore lint/suspicious/noArrayIndexKey: see above
      <mark className="resumed" key={`m${index}`} title="The stream was cut here and resumed">
        ↻ resumed
      </mark>,
    );
    from = at;
  });
  parts.push(
    <span className="segment" key="last">
      {content.slice(from)}
    </span>,
  );
  return (
    <div
      className="message assistant"
      data-testid={props.current ? 'current-answer' : 'answer'}
      data-streaming={props.streaming ? 'true' : 'false'}
    >
      {parts}
      {props.streaming && <span className="caret" aria-hidden="true" />}
      {stopped && <span className="tag">stopped</span>}
    </div>
  );
}
