/**
 * Commands both consoles share: help, log and quit.
 * @module
 */
import { suggest } from '../suggest.js';
import { formatTable } from '../table.js';
import { printable } from '../format.js';
import type { PacketLog } from '../packet-log.js';
import { allWords } from '../words.js';
import { CommandError, usageError, type Command } from './command.js';

/** `help [command]`: lists the commands, or explains one. */
export const helpCommand: Command = {
  name: 'help',
  usage: 'help [command]',
  summary: 'list the commands, or explain one',
  completion: ['command'],
  run(args, { print, commands, style }) {
    const [name] = allWords(args);
    if (name === undefined) {
      print(style('bold', 'commands:'));
      const rows = [...commands.values()].map((command) => [command.usage, command.summary]);
      print(formatTable([{ header: '' }, { header: '' }], rows, { header: false }).map((line) => `  ${line}`));
      print("Tab completes commands and actions; 'help <command>' explains one.");
      return;
    }
    const command = commands.get(name);
    if (command === undefined) throw unknownCommand(name, commands.keys());
    print([`usage: ${command.usage}`, `  ${command.summary}`, ...(command.details ?? []).map((line) => `  ${line}`)]);
  },
};

/**
 * The one-line error for a command that does not exist, with a suggestion when one is close.
 * @param name what was typed
 * @param names the valid command names
 */
export function unknownCommand(name: string, names: Iterable<string>): CommandError {
  const guess = suggest(name, names);
  return new CommandError(
    guess === undefined ? `unknown command '${printable(name, 64)}' — type 'help' for a list` : `unknown command '${printable(name, 64)}' — did you mean '${guess}'?`,
  );
}

/**
 * `log on|off [action…]`: the live log of incoming packets.
 * @param log the console's packet log
 * @param from who the packets come from, for the summary line (`clients`, `the server`)
 */
export function logCommand(log: PacketLog, from: string): Command {
  const command: Command = {
    name: 'log',
    usage: 'log on|off [action…]',
    summary: `show packets from ${from} as they arrive (at most 20 lines/s)`,
    details: [
      "'log on' shows every action; 'log on a b' only a and b.",
      "'log off' stops the log; 'log off a' hides a and keeps the rest.",
      "'log' alone prints the current setting. Tokens are never shown.",
    ],
    completion: [['on', 'off'], 'action'],
    variadic: true,
    run(args, { print }) {
      const [mode, ...actions] = allWords(args);
      if (mode === 'on') log.on(actions);
      else if (mode === 'off') log.off(actions);
      else if (mode !== undefined) throw usageError(command);
      print(log.describe());
    },
  };
  return command;
}

/**
 * `quit` (or another name, such as `stop`): ends the console and stops the instance.
 * @param name the command's name
 * @param summary what it says in help
 */
export function quitCommand(name: string, summary: string): Command {
  return {
    name,
    usage: name,
    summary,
    run(_args, { quit }) {
      quit();
    },
  };
}
