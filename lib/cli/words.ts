/**
 * Splitting a command line's arguments. Words are separated by whitespace; the last argument of a
 * command (JSON data, a reason) takes the rest of the line verbatim, spaces included.
 * @module
 */

/** The leading words of an argument string and what follows them. */
export interface SplitArgs {
  /** Up to the requested number of whitespace-separated words. */
  words: string[];
  /** Everything after those words, trimmed; `''` when nothing is left. */
  rest: string;
}

/**
 * Takes `count` words off the front of `text` and leaves the remainder intact.
 * @param text the arguments after the command name
 * @param count how many leading words to split off
 * @example splitArgs('a1b2 chat {"text": "hi there"}', 2) // { words: ['a1b2', 'chat'], rest: '{"text": "hi there"}' }
 */
export function splitArgs(text: string, count: number): SplitArgs {
  const words: string[] = [];
  let rest = text.trim();
  while (words.length < count && rest !== '') {
    const match = /^(\S+)\s*/.exec(rest);
    if (match === null) break;
    words.push(match[1]!);
    rest = rest.slice(match[0].length);
  }
  return { words, rest: rest.trim() };
}

/**
 * All whitespace-separated words of `text`.
 * @param text any string
 */
export function allWords(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '');
}
