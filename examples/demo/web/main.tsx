import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import './styles.css';
import './panels.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element.');
// StrictMode on purpose: the panels start streams in effects, which StrictMode runs twice in
// development; useEventStream still sends one request.
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
