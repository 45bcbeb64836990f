/**
 * The `pnetwork` binary's logic, apart from the process: the subcommand table, help, version, and
 * the mapping of outcomes to exit codes.
 * @module
 */
import { readFileSync } from 'node:fs';
import { describeError } from './cli.js';
import { EXIT, parseCommandLine, usage, UsageError, type BinIo, type SubcommandTable } from './args.js';
import { connect } from './subcommands/connect.js';
import { serve } from './subcommands/serve.js';
import { keygen } from './subcommands/keygen.js';

/** The binary's subcommands. Add one here (name → options and run) and it is parsed and documented. */
export const SUBCOMMANDS: SubcommandTable = Object.freeze({ serve, connect, keygen });

/**
 * Runs the binary.
 * @param argv the arguments after the program name
 * @param io streams, environment and signals
 * @param table the subcommands @defaultValue {@link SUBCOMMANDS}
 * @returns the exit code: 0 success, 1 runtime failure, 2 usage error
 */
export async function main(argv: readonly string[], io: BinIo = processIo(), table: SubcommandTable = SUBCOMMANDS): Promise<number> {
  let running: string | undefined;
  try {
    const invocation = parseCommandLine(argv, table);
    if (invocation.kind === 'help') {
      io.stdout.write(`${usage(table, invocation.subcommand)}\n`);
      return EXIT.OK;
    }
    if (invocation.kind === 'version') {
      io.stdout.write(`${packageVersion()}\n`);
      return EXIT.OK;
    }
    running = invocation.name;
    return await invocation.subcommand.run(invocation.args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`pnetwork: ${error.message}\n\n${usage(table, error.subcommand ?? running)}\n`);
      return EXIT.USAGE;
    }
    io.stderr.write(`pnetwork: ${describeError(error)}\n`);
    return EXIT.FAILURE;
  }
}

/** The real process's streams, environment and SIGINT/SIGTERM. */
export function processIo(): BinIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onSignal(handler) {
      const once = (signal: NodeJS.Signals): void => {
        remove();
        handler(signal);
      };
      const remove = (): void => {
        process.off('SIGINT', once);
        process.off('SIGTERM', once);
      };
      process.on('SIGINT', once);
      process.on('SIGTERM', once);
      return remove;
    },
  };
}

/** The version in pnetwork's package.json, found from this file upward (works from lib/ and dist/). */
export function packageVersion(): string {
  for (let url = new URL('./package.json', import.meta.url), i = 0; i < 5; i++, url = new URL('../package.json', url)) {
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'pnetwork' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not here; look one directory up.
    }
  }
  return 'unknown';
}
