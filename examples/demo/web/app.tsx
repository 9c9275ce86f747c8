import { useEffect, useState } from 'react';
import type { DemoConfig } from '../shared.ts';
import { ChatPanel } from './chat-panel.tsx';
import { JobPanel } from './job-panel.tsx';
import { LogsPanel } from './logs-panel.tsx';
import { MetricsPanel } from './metrics-panel.tsx';

/** The demo page: the four classic uses of server-sent events, side by side. */
export function App() {
  const [config, setConfig] = useState<DemoConfig>();
  useEffect(() => {
    const controller = new AbortController();
    fetch('/api/config', { signal: controller.signal })
      .then((response) => response.json() as Promise<DemoConfig>)
      .then(setConfig, () => {});
    return () => controller.abort();
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
            <li>hub: {config.engine}</li>
            {config.resumable && (
              <li>chat responses cut every {config.chatMaxDurationMs / 1000} s, then resumed</li>
            )}
          </ul>
        )}
      </header>
      <div className="grid">
        <ChatPanel resumable={config?.resumable ?? true} />
        <JobPanel />
        <LogsPanel />
        <MetricsPanel />
      </div>
    </main>
  );
}
