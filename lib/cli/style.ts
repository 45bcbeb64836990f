/**
 * Colour for the console, through `node:util` styleText, and only where colour belongs.
 * @module
 */
import { stripVTControlCharacters, styleText } from 'node:util';

/** A text format `styleText` understands, such as `'bold'`, `'red'` or `'dim'`. */
export type StyleFormat = Parameters<typeof styleText>[0];

/** Wraps text in a format, or returns it unchanged when colour is off. */
export type Styler = (format: StyleFormat, text: string) => string;

/**
 * Decides whether a stream should get colour: only a TTY, and only while `NO_COLOR` is unset or empty
 * (https://no-color.org).
 * @param stream the stream the text goes to
 * @param env the environment to read `NO_COLOR` from
 */
export function colorEnabled(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  const noColor = env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/**
 * Makes a {@link Styler}.
 * @param enabled whether to colour at all
 */
export function createStyler(enabled: boolean): Styler {
  if (!enabled) return (_format, text) => text;
  // We already decided for our own output stream; styleText would otherwise look at process.stdout.
  return (format, text) => styleText(format, text, { validateStream: false });
}

/**
 * The number of columns text takes on a terminal, ignoring colour escapes.
 * @param text text that may contain SGR escapes
 */
export function visibleWidth(text: string): number {
  let width = 0;
  for (const _char of stripVTControlCharacters(text)) width += 1;
  return width;
}
