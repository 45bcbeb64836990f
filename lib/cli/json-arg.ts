/**
 * JSON arguments typed at the console (`send chat {"text":"hi"}`), with one-line explanations when
 * they are malformed.
 * @module
 */
import { DEFAULTS } from '../defaults.js';
import { depthExceedsIteratively } from '../protocol/packet.js';

/** A JSON argument that does not parse. The message is one line, fit to print as is. */
export class JsonArgumentError extends Error {
  constructor(
    message: string,
    /** 1-based column of the problem within the argument, when JSON.parse reported one. */
    readonly column: number | undefined,
  ) {
    super(message);
    this.name = 'JsonArgumentError';
  }
}

/**
 * Parses a console JSON argument. An empty argument is `null`, so `send ping` sends `data: null`.
 * @param text the argument as typed
 * @throws JsonArgumentError with a one-line explanation, the column and, where a common mistake is
 *   recognised (single quotes, bare keys, bare words, trailing commas), a hint
 */
export function parseJsonArgument(text: string): unknown {
  const source = text.trim();
  if (source === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(source) as unknown;
  } catch (error) {
    throw explain(source, error instanceof Error ? error.message : String(error));
  }
  // Checked before anything walks the value: a paste can nest far deeper than the stack.
  if (depthExceedsIteratively(value, DEFAULTS.maxDepth)) {
    throw new JsonArgumentError(`JSON nests deeper than ${DEFAULTS.maxDepth} levels (maxDepth): the peer would refuse the packet`, undefined);
  }
  if (hasInfinity(value)) {
    // JSON.parse reads 1e999 as Infinity, which JSON.stringify then sends as null.
    const written = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
    const culprit = source.match(written)?.find((text) => !Number.isFinite(Number(text))) ?? 'a number';
    throw new JsonArgumentError(`number out of range: ${culprit} is beyond ±1.8e308 and would be sent as null`, undefined);
  }
  return value;
}

function hasInfinity(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value).some(hasInfinity);
}

function explain(source: string, raw: string): JsonArgumentError {
  const position = /at position (\d+)/.exec(raw);
  const column = position ? Number(position[1]) + 1 : undefined;
  let reason = raw
    .replace(/,? ".*" is not valid JSON$/s, '')
    .replace(/ (in JSON )?at position \d+.*$/s, '')
    .replace(/^Unexpected token/, 'unexpected');
  reason = reason.charAt(0).toLowerCase() + reason.slice(1);
  const where = column === undefined ? '' : ` at column ${column} (near '${source.slice(column - 1, column + 11)}')`;
  const hint = hintFor(source);
  return new JsonArgumentError(`malformed JSON${where}: ${reason}${hint ? ` — ${hint}` : ''}`, column);
}

function hintFor(source: string): string | undefined {
  if (/[{,]\s*[A-Za-z_$][\w$]*\s*:/.test(source)) return 'property names need double quotes, e.g. {"x":1}';
  if (source.includes("'")) return 'JSON takes double quotes, not single quotes';
  if (/,\s*[\]}]/.test(source)) return 'remove the trailing comma';
  if (/^[A-Za-z_]/.test(source)) return source.length > 64 ? 'to send a string, quote it' : `to send a string, quote it: ${JSON.stringify(source)}`;
  return undefined;
}
