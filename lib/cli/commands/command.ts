/**
 * The shape of a console command and what it may use while it runs.
 * @module
 */
import type { Styler } from '../style.js';

/**
 * What one argument position completes to on Tab: command names, bound action names, client short
 * ids, or a fixed list of words.
 */
export type ArgCompletion = 'command' | 'action' | 'client' | readonly string[];

/** What a command can reach while it runs. */
export interface CommandContext {
  /** Prints one line (or several, given an array) to the console. */
  print(line: string | readonly string[]): void;
  /** Colours text when the console's output takes colour. */
  readonly style: Styler;
  /** Every command of this console, by name (help lists them). */
  readonly commands: ReadonlyMap<string, Command>;
  /** Ends the console; the instance is then stopped. */
  quit(): void;
  /** The time now, in ms since the epoch. */
  now(): number;
  /**
   * Makes Ctrl-C call `cancel` instead of quitting, until the returned function is called: for a
   * command that runs until the user stops it (`stream`).
   */
  onInterrupt(cancel: () => void): () => void;
}

/** One console command. */
export interface Command {
  /** The word that runs it. */
  readonly name: string;
  /** Its synopsis, such as `send <action> [json]`. */
  readonly usage: string;
  /** One line on what it does. */
  readonly summary: string;
  /** Further lines `help <command>` prints. */
  readonly details?: readonly string[];
  /** Completion per argument position. */
  readonly completion?: readonly ArgCompletion[];
  /** Whether the last completion entry repeats for every further argument. */
  readonly variadic?: boolean;
  /**
   * Runs the command.
   * @param args everything after the command name, untrimmed of inner spaces (JSON may contain them)
   * @param context output and control
   * @throws CommandError for a mistake the user can fix; the console prints its message only
   */
  run(args: string, context: CommandContext): void | Promise<void>;
}

/** A mistake in how a command was used. The console prints the message alone, never a stack. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/**
 * A {@link CommandError} that shows the command's usage.
 * @param command the command that was misused
 */
export function usageError(command: Pick<Command, 'usage'>): CommandError {
  return new CommandError(`usage: ${command.usage}`);
}
