#!/usr/bin/env node
/**
 * The `pnetwork` executable: `pnetwork serve`, `pnetwork connect`, `--help`, `--version`.
 * All logic is in main.ts; this file only hands it the process and sets the exit code.
 * @module
 */
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is stopped by now; if a stray handle would keep the process alive, leave anyway.
setTimeout(() => process.exit(code), 2000).unref();
