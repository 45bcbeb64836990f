/**
 * How the console shows a failure: one line, never a stack.
 * @module
 */
import { CommandError } from './commands/command.js';
import { printable } from './format.js';
import { JsonArgumentError } from './json-arg.js';
import { describeThrown } from '../describe-thrown.js';

/**
 * One line about a failure, fit for the console: the message, with the error code when there is one.
 * @param error anything thrown
 */
export function describeError(error: unknown): string {
  if (error instanceof CommandError || error instanceof JsonArgumentError) return error.message;
  if (error instanceof Error) {
    const { code, remoteCode } = error as { code?: unknown; remoteCode?: unknown };
    const shown = typeof remoteCode === 'string' ? remoteCode : typeof code === 'string' ? code : undefined;
    // A RemoteError's code and message come from the peer.
    const message = printable(error.message.split('\n')[0] ?? '', 500);
    return shown === undefined ? `error: ${message}` : `error ${printable(shown)}: ${message}`;
  }
  return `error: ${printable(describeThrown(error), 500)}`;
}
