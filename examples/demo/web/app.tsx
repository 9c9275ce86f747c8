import { lazy, Suspense, useEffect, useState } from 'react';
import type { DemoConfig } from '../shared.ts';
import { ChatPanel } from './chat-panel.tsx';
import { Dashboard } from './dashboard.tsx';
import { JobPanel } from './job-panel.tsx';
import { LogsPanel } from './logs-panel.tsx';
import { MetricsPanel } from './metrics-panel.tsx';

// The AI SDK (`@ai-sdk/react`, `ai`) is most of the page's weight: its own chunk, loaded after
// the rest of the page.
const AiChatPanel = lazy(() =>
  import('./ai-chat-panel.tsx').then((module) => ({ default: module.AiChatPanel })),
);

type View = 'panels' | 'dashboard';
const viewOf = (hash: string): View => (hash === '#/dashboard' ? 'dashboard' : 'panels');

/**
 * The demo page, two views: the panels (chat, AI SDK chat, long job, live logs, metrics, one
 * stream each), and the dashboard (#/dashboard: four live panels on one shared connection).
 */
export function App() {
  const [config, setConfig] = useState<DemoConfig>();
  const [view, setView] = useState<View>(() => viewOf(location.hash));
  useEffect(() => {
    const controller = new AbortController();
    fetch('/api/config', { signal: controller.signal })
      .then((response) => response.json() as Promise<DemoConfig>)
      .then(setConfig, () => {});
    const onHash = () => setView(viewOf(location.hash));
    addEventListener('hashchange', onHash);
    return () => {
      controller.abort();
      removeEventListener('hashchange', onHash);
    };
  }, []);
  return (
    <main>
      <header className="page-header">
        <h1>
          ssekit <span>demo</span>
        </h1>
        <p>Server-Sent Events over POST and GET: resumable runs, progress, live topics.</p>
        {config && (
          <ul className="chips" aria-label="Server configuration">
            <li>model: {config.model}</li>
            <li>AI chat: {config.aiModel}</li>
            <li>hub: {config.engine}</li>
            {config.resumable && (
              <li>chat responses cut every {config.chatMaxDurationMs / 1000} s, then resumed</li>
            )}
          </ul>
        )}
        <nav className="views" aria-label="Views">
          <a href="#/" aria-current={view === 'panels' ? 'page' : undefined}>
            Panels
          </a>
          <a href="#/dashboard" aria-current={view === 'dashboard' ? 'page' : undefined}>
            Dashboard (one connection)
          </a>
        </nav>
      </header>
      {view === 'dashboard' ? (
        <Dashboard />
      ) : (
        <div className="grid">
          <ChatPanel resumable={config?.resumable ?? true} />
          <Suspense fallback={<section className="panel ai-chat" aria-busy="true" />}>
            <AiChatPanel />
          </Suspense>
          <JobPanel />
          <LogsPanel />
          <MetricsPanel />
        </div>
      )}
    </main>
  );
}
