/**
 * Runs the console on a started instance until the user leaves, closing it on SIGINT/SIGTERM.
 * @module
 */
import type { BinIo } from '../args.js';
import { CLI } from '../cli.js';

/** Runs a console for `instance` on the bin's streams; resolves with exit code 0 once the user quits. */
export async function runConsole(instance: ConstructorParameters<typeof CLI>[0], io: BinIo): Promise<number> {
  const cli = new CLI(instance, undefined, { input: io.stdin, output: io.stdout, env: io.env });
  const removeSignal = io.onSignal(() => void cli.close());
  try {
    await cli.processCommand();
  } finally {
    removeSignal();
  }
  return 0;
}
