/**
 * Command-line parsing for the `pnetwork` binary: a table of subcommands, each with its own
 * `node:util` parseArgs options, plus the global `--help` and `--version`. New subcommands and options
 * slot into the table; parsing, usage text and errors follow from it.
 * @module
 */
import { parseArgs } from 'node:util';
import { suggest } from './suggest.js';
import { formatTable } from './table.js';
import type { HostPort } from '../types.js';

/** Exit codes of the `pnetwork` binary. */
export const EXIT = Object.freeze({
  /** Finished normally. */
  OK: 0,
  /** Failed while running (could not listen, could not connect, …). */
  FAILURE: 1,
  /** The command line was wrong; usage went to stderr. */
  USAGE: 2,
});

/** A mistake on the command line. The binary prints it with the usage and exits with {@link EXIT} `USAGE`. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The subcommand whose usage to show; the general usage when absent. */
    readonly subcommand?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One option of a subcommand: a parseArgs option plus its help text. */
export interface OptionSpec {
  /** `string` takes a value; `boolean` is a flag. */
  type: 'string' | 'boolean';
  /** A one-letter alias. */
  short?: string;
  /** The placeholder in usage, such as `<port>`. */
  valueName?: string;
  /** One line for `--help`. */
  description: string;
}

/** The streams and environment a subcommand runs with (injectable for tests). */
export interface BinIo {
  /** Console input. */
  stdin: NodeJS.ReadableStream;
  /** Normal output. */
  stdout: NodeJS.WritableStream;
  /** Errors and usage. */
  stderr: NodeJS.WritableStream;
  /** Environment (NO_COLOR). */
  env: NodeJS.ProcessEnv;
  /**
   * Calls `handler` once on SIGINT or SIGTERM.
   * @returns a function that removes the handler
   */
  onSignal(handler: (signal: NodeJS.Signals) => void): () => void;
}

/** What a subcommand receives: its parsed options and positionals. */
export interface ParsedArgs {
  /** Option values by name; flags are booleans, valued options strings, unset ones absent. */
  values: Record<string, string | boolean | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/** A subcommand of the binary. */
export interface Subcommand {
  /** One line for the command list. */
  summary: string;
  /** Positional arguments as shown in usage, such as `[host:port]`. */
  positionalsUsage?: string;
  /** Most positional arguments accepted. @defaultValue 0 */
  maxPositionals?: number;
  /** Its options by long name. */
  options: Record<string, OptionSpec>;
  /**
   * Runs it.
   * @returns the exit code
   * @throws UsageError for a bad value the parser could not catch (the binary exits with 2)
   */
  run(args: ParsedArgs, io: BinIo): Promise<number>;
}

/** The subcommand table, by name. */
export type SubcommandTable = Readonly<Record<string, Subcommand>>;

/** What the command line asks for. */
export type Invocation =
  | {
      /** Print the usage. */
      kind: 'help';
      /** The subcommand whose usage to print. */
      subcommand?: string;
    }
  | {
      /** Print the version. */
      kind: 'version';
    }
  | {
      /** Run a subcommand. */
      kind: 'run';
      /** Its name. */
      name: string;
      /** Its table entry. */
      subcommand: Subcommand;
      /** Its parsed arguments. */
      args: ParsedArgs;
    };

/**
 * Reads the command line against the table.
 * @param argv the arguments after the program name
 * @param table the subcommands
 * @throws UsageError for a missing or unknown subcommand, an unknown option, a missing option value or
 *   too many positionals
 */
export function parseCommandLine(argv: readonly string[], table: SubcommandTable): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command');
  if (first === '--help' || first === '-h' || first === 'help') return { kind: 'help' };
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`);
  const subcommand = Object.hasOwn(table, first) ? table[first] : undefined;
  if (subcommand === undefined) {
    const guess = suggest(first, Object.keys(table));
    throw new UsageError(`unknown command '${first}'${guess ? ` — did you mean '${guess}'?` : ''}`);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...parseArgsOptions(subcommand.options), help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error), first);
  }
  if (parsed.values.help === true) return { kind: 'help', subcommand: first };
  const max = subcommand.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    throw new UsageError(`unexpected argument '${parsed.positionals[max]}'`, first);
  }
  const { help: _help, ...values } = parsed.values;
  return { kind: 'run', name: first, subcommand, args: { values: values as ParsedArgs['values'], positionals: parsed.positionals } };
}

/**
 * Usage text: the general one listing every subcommand, or one subcommand's with its options.
 * @param table the subcommands
 * @param name a subcommand, or none for the general usage
 */
export function usage(table: SubcommandTable, name?: string): string {
  const subcommand = name === undefined ? undefined : table[name];
  if (name === undefined || subcommand === undefined) {
    const rows = Object.entries(table).map(([key, spec]) => [`${key}${spec.positionalsUsage ? ` ${spec.positionalsUsage}` : ''}`, spec.summary]);
    return [
      'usage: pnetwork <command> [options]',
      '',
      'commands:',
      ...formatTable([{ header: '' }, { header: '' }], rows, { header: false }).map((line) => `  ${line}`),
      '',
      'options:',
      '  -h, --help     show help (also: pnetwork <command> --help)',
      '  -v, --version  print the version',
      '',
      'exit codes: 0 success, 1 runtime failure, 2 usage error',
    ].join('\n');
  }
  const synopsis = Object.entries(subcommand.options).map(([key, option]) => `[--${key}${option.type === 'string' ? ` ${option.valueName ?? '<value>'}` : ''}]`);
  const rows = Object.entries(subcommand.options).map(([key, option]) => [
    `${option.short ? `-${option.short}, ` : '    '}--${key}${option.type === 'string' ? ` ${option.valueName ?? '<value>'}` : ''}`,
    option.description,
  ]);
  rows.push(['-h, --help', 'show this help']);
  return [
    `usage: pnetwork ${name}${subcommand.positionalsUsage ? ` ${subcommand.positionalsUsage}` : ''} ${synopsis.join(' ')}`.trimEnd(),
    '',
    subcommand.summary,
    '',
    'options:',
    ...formatTable([{ header: '' }, { header: '' }], rows, { header: false }).map((line) => `  ${line}`),
  ].join('\n');
}

/**
 * Parses a TCP port number.
 * @param text what was given
 * @param allowZero whether 0 (any free port) is allowed
 * @throws UsageError unless it is an integer in range
 */
export function parsePort(text: string, allowZero: boolean): number {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port > 65_535 || (port === 0 && !allowZero)) {
    throw new UsageError(`invalid port '${text}' — expected ${allowZero ? '0' : '1'}–65535`);
  }
  return port;
}

/**
 * Parses `host:port`, `[v6]:port`, `host` or a bare port.
 * @param text what was given
 * @param defaults host and port for the parts left out
 * @throws UsageError for an empty host or a bad port
 */
export function parseHostPort(text: string, defaults: HostPort): HostPort {
  if (/^\d+$/.test(text)) return { host: defaults.host, port: parsePort(text, false) };
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
  } else if ((text.match(/:/g) ?? []).length > 1) {
    host = text; // a bare IPv6 address
  } else {
    const colon = text.lastIndexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    port = colon === -1 ? undefined : text.slice(colon + 1);
  }
  if (host === '') throw new UsageError(`invalid address '${text}' — expected host:port`);
  return { host, port: port === undefined ? defaults.port : parsePort(port, false) };
}

function parseArgsOptions(options: Record<string, OptionSpec>): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  return Object.fromEntries(
    Object.entries(options).map(([key, option]) => [key, option.short === undefined ? { type: option.type } : { type: option.type, short: option.short }]),
  );
}

function parseErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // parseArgs messages can run to several sentences; the first is the useful one.
  const first = message.split(/\. (?=[A-Z])|\n/)[0] ?? message;
  return first.replace(/\.$/, '').replace(/^Unknown option/, 'unknown option').replace(/^Option/, 'option');
}
