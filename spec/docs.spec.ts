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

/** A fence that opens TypeScript or JavaScript code, however it is spelled. */
const CODE_FENCE = /^```(ts|typescript|tsx|js|javascript|mjs|cjs)$/;

/**
 * The TypeScript (and JavaScript) blocks of a markdown file, each with the example file that the prose just before it
 * (since the last heading or block) names last: "From [`examples/x.ts`](…):" quotes that file.
 */
function quotedBlocks(doc: string): Quoted[] {
  const lines = readFileSync(join(root, doc), 'utf8').split('\n');
  const blocks: Quoted[] = [];
  let example: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) example = null;
    const named = [...line.matchAll(/examples\/[\w./-]+\.ts/g)].at(-1);
    if (named && !line.startsWith('```')) example = named[0];
    if (CODE_FENCE.test(line.trim())) {
      const start = i;
      const code: string[] = [];
      while (++i < lines.length && lines[i]!.trim() !== '```') code.push(lines[i]!);
      blocks.push({ doc, line: start + 1, example, code: code.join('\n') });
      example = null;
    }
  }
  return blocks;
}

const guides = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
];

/** Every example a spec runs: each one spec/examples.spec.ts names, and the example specs mocha runs itself. */
function examplesRun(): Set<string> {
  const runner = readFileSync(join(root, 'spec', 'examples.spec.ts'), 'utf8');
  const named = [...runner.matchAll(/runExample\('(examples\/[\w./-]+\.ts)'/g)].map((match) => match[1]!);
  const specs = readdirSync(join(root, 'examples'))
    .filter((file) => file.endsWith('.spec.ts'))
    .map((file) => `examples/${file}`);
  return new Set([...named, ...specs]);
}

describe('guides quote their examples exactly', () => {
  for (const doc of guides) {
    const blocks = quotedBlocks(doc);
    if (blocks.length === 0) continue;
    it(`every TypeScript block of ${doc} follows an examples/ link and is a verbatim part of that example`, () => {
      const drifted = blocks.map((block) => {
        if (block.example === null) return `${doc}:${block.line} names no example before it`;
        return readFileSync(join(root, block.example), 'utf8').includes(block.code) ? null : `${doc}:${block.line} is not a verbatim part of ${block.example}`;
      });
      expect(drifted.filter((problem) => problem !== null)).to.deep.equal([]);
    });
  }

  it('every example a guide quotes is run by a spec', () => {
    const run = examplesRun();
    const quoted = new Set(guides.flatMap((doc) => quotedBlocks(doc).flatMap((block) => (block.example === null ? [] : [block.example]))));
    expect([...quoted].filter((example) => !run.has(example))).to.deep.equal([]);
  });

  it('every example in examples/ is run by a spec', () => {
    const run = examplesRun();
    const all = readdirSync(join(root, 'examples'))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => `examples/${file}`);
    expect(all.filter((example) => !run.has(example))).to.deep.equal([]);
  });
});
