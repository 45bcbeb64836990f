// Secrets never leak: a whole session (servers, clients, both consoles, refused and failing packets,
// reconnections, a stop, key files that fail to load) is captured: console and process output, console
// screens, every error on every error$ and every rejection (message, stack, causes), every disconnect
// reason. No token may appear in any of it, nor any private key material, nor any client's `auth`
// credential (given as a value or by an async function; accepted or refused by the server's middleware),
// not even where a logger prints a whole client or server object.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, inspect } from 'node:util';
import { expect } from 'chai';
import { Client, KEY_FILES, Server, createEncryptKeys, loadKeys, saveKeys } from '../../lib/index.js';
import { ConsoleHarness } from '../cli/console-harness.js';
import { fixtureKeys } from '../helpers/keys.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/wait.js';

const WAIT_MS = 20_000;

/** The credentials of the session: what `auth` carries, as a value or from a function, good or refused. */
const AUTH_VALUE = 'auth-value-pw-5b1f0c9e';
const AUTH_FROM_FUNCTION = 'auth-function-pw-c47d2a18';
const AUTH_REFUSED = 'auth-refused-pw-9e63b7d4';
const AUTH_REFUSED_FROM_FUNCTION = 'auth-refused-function-pw-0a8e5f21';
const AUTH_UNENCODABLE = 'auth-unencodable-pw-6d2c8b30';
const AUTH_SECRETS = [AUTH_VALUE, AUTH_FROM_FUNCTION, AUTH_REFUSED, AUTH_REFUSED_FROM_FUNCTION, AUTH_UNENCODABLE];
const ACCEPTED: Record<string, string> = { ann: AUTH_VALUE, bob: AUTH_FROM_FUNCTION };

interface Credentials {
  user: string;
  password: string;
}

/** Everything written through console.* and process.stdout/stderr while it is installed. */
class OutputCapture {
  text = '';
  private readonly restores: Array<() => void> = [];

  install(): void {
    for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        this.text += `${format(...args)}\n`;
      };
      this.restores.push(() => (console[method] = original));
    }
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write;
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      }) as typeof stream.write;
      this.restores.push(() => (stream.write = original));
    }
  }

  restore(): void {
    for (const restore of this.restores.splice(0).reverse()) restore();
  }
}

/** Every way an error can be shown: its string, stack, JSON, own fields, and the same for its causes. */
function renderings(err: unknown, depth = 0): string[] {
  if (depth > 5 || err === undefined || err === null) return [];
  if (!(err instanceof Error)) return [String(err)];
  const own = Object.fromEntries(Object.getOwnPropertyNames(err).map((key) => [key, (err as unknown as Record<string, unknown>)[key]]));
  return [String(err), err.stack ?? '', JSON.stringify(own, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value)), format(err), ...renderings(err.cause, depth + 1)];
}

/** The forms of a uuid token that would give it away: the whole, and the whole without dashes. */
function tokenParts(token: string): string[] {
  return [token, token.replace(/-/g, '')];
}

/** Lines of a PEM's base64 body: any one of them in a message would be key material. */
function pemBodyLines(pem: string): string[] {
  return pem
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith('-----'));
}

describe('no secret in logs, console output or error messages (integration)', function () {
  this.timeout(120_000);

  it('a whole session shows no token, no auth credential and no private key material', async () => {
    const capture = new OutputCapture();
    const texts: string[] = [];
    const tokens = new Set<string>();
    const note = (token: string | null | undefined): void => {
      if (token) tokens.add(token);
    };
    const failing = async (what: Promise<unknown>): Promise<void> => {
      try {
        await what;
        texts.push('unexpectedly fulfilled');
      } catch (err) {
        texts.push(...renderings(err));
      }
    };
    const dir = await mkdtemp(join(tmpdir(), 'pnetwork-secrets-'));
    const cleanups: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
    capture.install();
    try {
      const server = new Server<any, any, any, Credentials>({ port: 0 }); // eslint-disable-line @typescript-eslint/no-explicit-any
      cleanups.push(() => server.stop());
      // Peers without a credential (the raw ones) pass; a credential must be one of the accepted.
      server.use((_connection, auth) => {
        if (auth !== undefined && ACCEPTED[auth.user] !== auth.password) throw new Error(`unknown user ${auth.user}`);
      });
      server.bindAction('echo', (data: unknown) => data);
      server.bindAction('fail', () => {
        throw new Error('the handler failed');
      });
      server.bindAction('slow', () => new Promise(() => undefined));
      server.error$.subscribe((error) => texts.push(...renderings(error)));
      server.connection$.subscribe((connection) => note(connection.token));
      server.disconnect$.subscribe(({ reason }) => texts.push(reason));
      await server.start();
      const port = server.address().port;

      const auths = [{ user: 'ann', password: AUTH_VALUE }, async () => Promise.resolve({ user: 'bob', password: AUTH_FROM_FUNCTION }), undefined];
      const clients = auths.map((auth) => new Client<any, any, Credentials>({ port, reconnectDelayMs: 20, auth })); // eslint-disable-line @typescript-eslint/no-explicit-any
      for (const client of clients) {
        cleanups.push(() => client.stop());
        client.error$.subscribe((error) => texts.push(...renderings(error)));
        client.disconnect$.subscribe((reason) => texts.push(reason));
        await client.start();
        note(client.token);
      }
      const [a, b] = clients as [Client, Client, Client];
      const refusedClients: Client[] = [];
      // Refused credentials, as a value and from a function: start() rejects, and the refusal is reported.
      for (const auth of [{ user: 'eve', password: AUTH_REFUSED }, async () => Promise.resolve({ user: 'ann', password: AUTH_REFUSED_FROM_FUNCTION })]) {
        const refused = new Client<any, any, Credentials>({ port, reconnect: false, auth }); // eslint-disable-line @typescript-eslint/no-explicit-any
        cleanups.push(() => refused.stop());
        refused.error$.subscribe((error) => texts.push(...renderings(error)));
        refused.disconnect$.subscribe((reason) => texts.push(reason));
        await failing(refused.start());
        refusedClients.push(refused);
      }
      // A credential the codec cannot encode fails before any socket opens.
      const unencodable = new Client<any, any, any>({ port, reconnect: false, auth: { user: 'ann', password: AUTH_UNENCODABLE, n: 1n } }); // eslint-disable-line @typescript-eslint/no-explicit-any
      cleanups.push(() => unencodable.stop());
      unencodable.error$.subscribe((error) => texts.push(...renderings(error)));
      await failing(unencodable.start());
      // What a logger shows of the objects themselves (console.log(client) inspects it).
      // A TLS server and a TLS client with a key of its own hold private keys; they must not show them either.
      const tlsKeys = fixtureKeys('alice');
      const tlsClientKeys = fixtureKeys('bob');
      const tlsServer = new Server({ port: 0, tls: { keys: tlsKeys } });
      const tlsClient = new Client({ port, tls: { serverFingerprint: tlsKeys.fingerprint, keys: tlsClientKeys } });
      const inspected = [server, tlsServer, tlsClient, ...clients, ...refusedClients, unencodable].map((endpoint) => inspect(endpoint, { depth: 8 }));
      const serverConsole = new ConsoleHarness(server, 'secrets');
      const clientConsole = new ConsoleHarness(a, 'client');
      cleanups.push(() => clientConsole.cli.close(), () => serverConsole.cli.close());
      await serverConsole.ready();
      await clientConsole.ready();
      // Console commands (with the live log off, so that each command's output ends at its prompt).
      await serverConsole.run('status');
      await serverConsole.run('clients');
      await serverConsole.run('broadcast news {"n":1}');
      await clientConsole.run('status');
      await clientConsole.run('request echo {"n":2}');
      await clientConsole.run('send echo 3');
      await clientConsole.run('request nobody null');
      await clientConsole.run('request fail null');

      // Traffic and failures of every kind, logged live by both consoles.
      await serverConsole.run('log on');
      await clientConsole.run('log on');
      await a.request('echo', { hello: 'world' });
      await failing(a.request('nobody', null));
      await failing(a.request('fail', null));
      await failing(a.request('slow', null, { timeoutMs: 20 }));
      await failing(a.sendPacket('ping', null));
      await failing(a.sendPacket('x'.repeat(300), null));
      await b.sendPacket('echo', 'one way');
      await server.broadcast('news', 'logged news');
      await serverConsole.waitFor('one way');
      await clientConsole.waitFor('logged news');
      await serverConsole.run('log off');
      await clientConsole.run('log off');

      // A raw peer spoofs the others' tokens and sends garbage.
      const raw = await RawClient.connect(port, WAIT_MS);
      cleanups.push(() => raw.destroy());
      note(await raw.handshake(undefined, WAIT_MS));
      for (const [i, victim] of [a.token, b.token, `${a.token!.slice(0, 8)}-forged`].entries()) raw.send('echo', i, { id: i + 1, token: victim });
      raw.sendFrame('{"action":"echo","data":');
      raw.send('handshake', { protocol: 1 }, { id: 9 });
      await raw.waitFor((frame) => frame.id === 9, 'the refused second handshake', WAIT_MS);
      const early = await RawClient.connect(port, WAIT_MS);
      cleanups.push(() => early.destroy());
      early.send('echo', 1, { token: a.token });
      await early.waitClosed(WAIT_MS);
      // What the server told the raw peers in its error packets (the handshake reply is where a token belongs).
      const errorPackets = [...raw.frames, ...early.frames].filter((frame) => frame.action === 'error');
      expect(errorPackets.length).to.be.at.least(5);
      texts.push(...errorPackets.map((frame) => JSON.stringify(frame.data)));

      // A new token on reconnection; the console lists the clients again.
      await a.reconnect();
      note(a.token);
      await serverConsole.run('clients');
      await serverConsole.run('actions');

      // A stop with a request in flight.
      const inFlight = failing(b.request('slow', null));
      await until(() => b.connection!.pendingRequests === 1, WAIT_MS, 'the request in flight');
      await server.stop();
      await inFlight;
      await until(() => clients.every((client) => client.state !== 'connected'), WAIT_MS, 'the clients to notice the stop');
      for (const client of clients) await client.stop();

      // Key files that fail to load: permissions, a truncated key, halves that do not match.
      const keys = await createEncryptKeys({ bits: 1024 });
      const other = await createEncryptKeys({ bits: 1024 });
      await saveKeys(dir, keys);
      await failing(saveKeys(dir, keys));
      await chmod(join(dir, KEY_FILES.privateKey), 0o644);
      await failing(loadKeys(dir));
      await chmod(join(dir, KEY_FILES.privateKey), 0o600);
      const pem = await readFile(join(dir, KEY_FILES.privateKey), 'utf8');
      await writeFile(join(dir, KEY_FILES.privateKey), pem.slice(0, pem.length / 2), { mode: 0o600 });
      await failing(loadKeys(dir));
      await writeFile(join(dir, KEY_FILES.privateKey), other.privateKey, { mode: 0o600 });
      await failing(loadKeys(dir));

      capture.restore();
      const everything = [capture.text, serverConsole.text, clientConsole.text, ...texts].join('\n');
      // The session did produce the output it is meant to check.
      expect(serverConsole.text).to.contain('one way');
      expect(clientConsole.text).to.contain('logged news');
      expect(texts.join('\n')).to.contain('ERR_TOKEN_MISMATCH');
      expect(texts.join('\n')).to.contain('ERR_KEY_FILE_PERMISSIONS');
      expect(texts.join('\n')).to.contain('ERR_UNAUTHORIZED');
      expect(texts.join('\n')).to.contain('ERR_PACKET_JSON');
      expect(tokens.size).to.be.at.least(5);
      const shown = [everything, ...inspected].join('\n');
      for (const token of tokens) {
        for (const part of tokenParts(token)) expect(shown.includes(part), `part "${part}" of a token was shown: …${shown.slice(Math.max(0, shown.indexOf(part) - 200), shown.indexOf(part) + 100)}…`).to.equal(false);
      }
      for (const secret of AUTH_SECRETS) expect(shown.includes(secret), `an auth credential was shown: …${shown.slice(Math.max(0, shown.indexOf(secret) - 200), shown.indexOf(secret) + 100)}…`).to.equal(false);
      for (const key of [keys, other, tlsKeys, tlsClientKeys]) {
        for (const line of pemBodyLines(key.privateKey)) expect(shown.includes(line), 'private key material was shown').to.equal(false);
      }
      expect(shown).to.not.contain('PRIVATE KEY-----');
    } finally {
      capture.restore();
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    }
  });
});
