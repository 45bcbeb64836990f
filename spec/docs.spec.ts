import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { expect } from 'chai';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A code block of a guide and the example file its section names, if any. */
interface Quoted {
  readonly doc: string;
  readonly line: number;
  readonly example: string | null;
  readonly code: string;
}

/**
 * The TypeScript blocks of a markdown file, each with the example file that the prose just before it
 * (since the last heading or block) names last: "From [`examples/x.ts`](…):" quotes that file.
 */
function quotedBlocks(doc: string): Quoted[] {
  const lines = readFileSync(join(root, 'docs', doc), 'utf8').split('\n');
  const blocks: Quoted[] = [];
  let example: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) example = null;
    const named = [...line.matchAll(/examples\/[\w./-]+\.ts/g)].at(-1);
    if (named && !line.startsWith('```')) example = named[0];
    if (line === '```ts') {
      const start = i;
      const code: string[] = [];
      while (++i < lines.length && lines[i] !== '```') code.push(lines[i]!);
      blocks.push({ doc, line: start + 1, example, code: code.join('\n') });
      example = null;
    }
  }
  return blocks;
}

const guides = readdirSync(join(root, 'docs')).filter((file) => file.endsWith('.md'));

describe('guides quote their examples exactly', () => {
  for (const doc of guides) {
    const checked = quotedBlocks(doc).filter((block) => block.example !== null);
    if (checked.length === 0) continue;
    it(`every TypeScript block of docs/${doc} that follows an examples/ link is in that example`, () => {
      const drifted = checked
        .filter((block) => !readFileSync(join(root, block.example!), 'utf8').includes(block.code))
        .map((block) => `docs/${doc}:${block.line} is not a verbatim part of ${block.example}`);
      expect(drifted).to.deep.equal([]);
    });
  }
});
