import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { childEnv } from '../helpers/child-env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DEADLINE_MS = 120_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: DEADLINE_MS, env: childEnv(), maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function expectSuccess(result: Run, what: string): void {
  expect(result.code, `${what} failed:\n${result.stderr}\n${result.stdout}`).to.equal(0);
}

/** A round trip through the installed package, the same program for `import` and `require`. */
const roundTrip = (load: string): string => `${load}
const server = new Server({ port: 0 });
server.bindAction('sum', ({ a, b }) => a + b);
server.start().then(async () => {
  const client = new Client({ port: server.address().port });
  await client.start();
  const sum = await client.request('sum', { a: 2, b: 3 });
  await client.stop();
  await server.stop();
  console.log('sum ' + sum + ' ' + typeof CLI);
});
`;

const consumer = `import { Server, Client, type Packet } from 'pnetwork';
import { Server as CoreServer } from 'pnetwork/coreserver';
import { Client as CoreClient } from 'pnetwork/coreclient';
import { CLI } from 'pnetwork/coretools';
interface ClientActions { sum: (data: { a: number; b: number }) => number }
const server: CoreServer<ClientActions> = new Server<ClientActions>({ port: 0 });
server.bindAction('sum', ({ a, b }) => a + b);
const client: CoreClient<ClientActions> = new Client<ClientActions>();
const reply: Promise<number> = client.request('sum', { a: 1, b: 2 });
const token: string = server.clients.values().next().value?.token ?? '';
// @ts-expect-error the token is read-only
server.clients.values().next().value!.token = token;
const packet: Packet = server.createPacket('x', null);
void reply; void packet; void CLI;
`;

describe('the packed package', function () {
  this.timeout(DEADLINE_MS * 3);
  let dir = '';
  let files: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pnetwork-pack-'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], root);
    expectSuccess(packed, 'npm pack');
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = info!.files.map((file) => file.path);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, info!.filename)], dir);
    expectSuccess(installed, 'npm install of the tarball');
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds dist/, types, README, LICENSE and CHANGELOG, and no specs, benchmarks, sources or source maps', () => {
    for (const needed of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts', 'dist/coreserver.js', 'dist/coreclient.js', 'dist/cli/index.js', 'dist/cli/bin.js']) {
      expect(files, needed).to.include(needed);
    }
    expect(files.filter((file) => /\.map$|^spec\/|^bench\/|^lib\/|^examples\//.test(file))).to.deep.equal([]);
  });

  it('publishes no internals in its types', async () => {
    const types = await readFile(join(dir, 'node_modules/pnetwork/dist/connection.d.ts'), 'utf8');
    for (const internal of ['sendControl', 'sendReply', 'onEvent', 'onFatal', 'finish(']) expect(types, internal).not.to.include(internal);
  });

  it('runs through ESM import, root and subpath exports', async () => {
    await writeFile(join(dir, 'esm.mjs'), roundTrip("import { Server } from 'pnetwork/coreserver';\nimport { Client } from 'pnetwork/coreclient';\nimport { CLI } from 'pnetwork/coretools';"));
    const result = await run(process.execPath, ['esm.mjs'], dir);
    expectSuccess(result, 'esm.mjs');
    expect(result.stdout.trim()).to.equal('sum 5 function');
  });

  it('runs through require on Node 20', async () => {
    await writeFile(join(dir, 'cjs.cjs'), roundTrip("const { Server, Client } = require('pnetwork');\nconst { CLI } = require('pnetwork/coretools');"));
    const result = await run(process.execPath, ['cjs.cjs'], dir);
    expectSuccess(result, 'cjs.cjs');
    expect(result.stdout.trim()).to.equal('sum 5 function');
  });

  it('type-checks a consumer against its published types, without skipLibCheck', async () => {
    await writeFile(join(dir, 'consumer.ts'), consumer);
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), 'consumer.ts'], dir);
    expectSuccess(result, 'tsc on consumer.ts');
  });

  it('installs the pnetwork command', async () => {
    const result = await run(join(dir, 'node_modules/.bin/pnetwork'), ['--version'], dir);
    expectSuccess(result, 'pnetwork --version');
    expect(result.stdout.trim()).to.match(/\d+\.\d+\.\d+/);
  });
});
