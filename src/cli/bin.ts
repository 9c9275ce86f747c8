#!/usr/bin/env node
/**
 * The `ssekit` executable: runs the CLI with the real process and exits with its code.
 * The first Ctrl-C closes the stream cleanly (exit 130); a second one exits at once.
 */
import process from 'node:process';
import { runCli } from './main.ts';

const interrupt = new AbortController();
process.once('SIGINT', () => {
  interrupt.abort();
  process.once('SIGINT', () => process.exit(130));
});
// `ssekit URL | head` closes stdout early: that is the reader being done, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  signal: interrupt.signal,
});
process.exitCode = code;
// Exit once stdout and stderr are flushed, even if a pooled socket would keep the loop alive.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
