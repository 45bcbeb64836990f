/**
 * Tab completion for the console: command names first, then each argument by what the command
 * declares for it (bound actions, client short ids, fixed words).
 * @module
 */
import type { CompleterResult } from 'node:readline';
import type { ArgCompletion, Command } from './commands/command.js';

/** Where completion candidates come from. Called on every Tab, so they are always current. */
export interface CompletionSources {
  /** The console's commands, by name. */
  commands(): ReadonlyMap<string, Command>;
  /** Action names to offer: the instance's bound actions and any seen this session. */
  actions(): Iterable<string>;
  /** Client short ids to offer (empty on a client console). */
  clients(): Iterable<string>;
}

/**
 * Makes a completer for `readline.createInterface({ completer })`.
 * @param sources where candidates come from
 * @returns a function from the line typed so far to `[matches, the word being completed]`
 */
export function createCompleter(sources: CompletionSources): (line: string) => CompleterResult {
  return (line) => {
    const words = line.trimStart().split(/\s+/);
    const partial = words[words.length - 1] ?? '';
    if (words.length <= 1) return [matching(sources.commands().keys(), partial), partial];
    const command = sources.commands().get(words[0]!);
    const completion = command?.completion ?? [];
    const position = words.length - 2;
    const last = completion.length - 1;
    const kind = position <= last ? completion[position] : command?.variadic ? completion[last] : undefined;
    if (kind === undefined) return [[], partial];
    return [matching(candidates(kind, sources), partial), partial];
  };
}

function candidates(kind: ArgCompletion, sources: CompletionSources): Iterable<string> {
  if (kind === 'command') return sources.commands().keys();
  if (kind === 'action') return sources.actions();
  if (kind === 'client') return sources.clients();
  return kind;
}

function matching(names: Iterable<string>, partial: string): string[] {
  return [...new Set(names)].filter((name) => name.startsWith(partial)).sort();
}
