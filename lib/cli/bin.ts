#!/usr/bin/env node
/**
 * The `pnetwork` executable: `pnetwork serve`, `pnetwork connect`, `--help`, `--version`.
 * All logic is in main.ts; this file only hands it the process and sets the exit code.
 * @module
 */
import { main } from './main.js';

// A reader that goes away (`pnetwork serve | head -1`) is not a crash; the console notices and quits.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is stopped by now; if a stray handle would keep the process alive, leave anyway.
setTimeout(() => process.exit(code), 2000).unref();
