import { readFileSync } from 'node:fs';

/**
 * The secure channel's test vector, read from docs/protocol.md itself so the document and the code
 * cannot drift apart: the fenced block after the "Test vector" heading of the secure-channel section,
 * one `name value` per line, long hex values continued on indented lines.
 */
export function channelVector(): Record<string, string> {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  const start = doc.indexOf('### Secure channel test vector');
  if (start < 0) throw new Error('docs/protocol.md has no "### Secure channel test vector" section');
  const block = /```text\n([\s\S]*?)```/.exec(doc.slice(start));
  if (!block) throw new Error('the test vector section has no ```text block');
  const values: Record<string, string> = {};
  let last = '';
  for (const line of block[1]!.split('\n')) {
    const named = /^([a-z0-9_]+)\s+(\S+)$/.exec(line);
    const continued = /^\s+([0-9a-f]+)$/.exec(line);
    if (named) values[(last = named[1]!)] = named[2]!;
    else if (continued && last) values[last] += continued[1]!;
  }
  return values;
}

/** A vector value as bytes. */
export function vectorBytes(vector: Record<string, string>, name: string): Buffer {
  const hex = vector[name];
  if (hex === undefined) throw new Error(`the test vector has no ${name}`);
  return Buffer.from(hex, 'hex');
}

/** 32 bytes counting up from `start`: the vector's randoms and X25519 private keys. */
export function countingBytes(start: number): Buffer {
  return Buffer.from(Array.from({ length: 32 }, (_, i) => start + i));
}

/** A random source that hands out the given buffers in order, checking each requested length. */
export function fixedRandom(...buffers: Buffer[]): (bytes: number) => Buffer {
  return (bytes) => {
    const next = buffers.shift();
    if (!next || next.length !== bytes) throw new Error(`fixedRandom: no ${bytes}-byte value left`);
    return next;
  };
}
