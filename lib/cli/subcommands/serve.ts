/**
 * `pnetwork serve`: a server with an `echo` action and, unless `--no-console`, the console.
 * @module
 */
import { DEFAULTS } from '../../defaults.js';
import { Server } from '../../server.js';
import { parsePort, UsageError, type BinIo, type ParsedArgs, type Subcommand } from '../args.js';
import { runConsole } from './run-console.js';
import { loadKeys } from '../../crypto/keys.js';
import { DEFAULT_KEYS_DIR } from './keygen.js';

/**
 * Binds `echo`: its handler returns the data it got, so `request echo {…}` gets it back and `send echo`
 * shows up in the log.
 * @param server the server to bind on
 */
export function bindEcho(server: Server): void {
  server.bindAction('echo', (data: unknown) => data);
}

/** The `serve` subcommand. */
export const serve: Subcommand = {
  summary: 'start a server (with a console unless --no-console)',
  options: {
    host: { type: 'string', valueName: '<host>', description: `address to listen on (default ${DEFAULTS.host})` },
    port: { type: 'string', short: 'p', valueName: '<port>', description: `port to listen on; 0 picks a free one (default ${DEFAULTS.port})` },
    'no-console': { type: 'boolean', description: 'run without a console; stop on SIGINT or SIGTERM' },
    'no-echo': { type: 'boolean', description: "don't bind the echo action" },
    tls: { type: 'boolean', description: 'serve TLS 1.3 with the keys from --keys (without it or --encrypt, packets and tokens travel in clear text)' },
    encrypt: { type: 'boolean', description: 'serve the secure channel (forward secret; clients connect with --pin) with the keys from --keys' },
    keys: { type: 'string', valueName: '<dir>', description: `directory pnetwork keygen wrote (default ./${DEFAULT_KEYS_DIR}); alone, implies --tls` },
  },
  async run({ values }: ParsedArgs, io: BinIo): Promise<number> {
    const host = typeof values.host === 'string' ? values.host : DEFAULTS.host;
    const port = typeof values.port === 'string' ? parsePort(values.port, true) : DEFAULTS.port;
    if (values.tls === true && values.encrypt === true) throw new UsageError('choose one of --tls and --encrypt', 'serve');
    const useChannel = values.encrypt === true;
    const useTls = !useChannel && (values.tls === true || typeof values.keys === 'string');
    const keys = useTls || useChannel ? await loadKeys(typeof values.keys === 'string' ? values.keys : DEFAULT_KEYS_DIR) : null;
    const server = new Server({ host, port, ...(keys && useTls ? { tls: { keys } } : {}), ...(keys && useChannel ? { encryption: { keys } } : {}) });
    if (values['no-echo'] !== true) bindEcho(server);
    await server.start();
    const address = server.address();
    io.stdout.write(`pnetwork server listening on ${address.host}:${address.port}\n`);
    io.stdout.write(
      keys === null
        ? 'plain TCP: packets and tokens travel in clear text (use --encrypt or --tls to encrypt)\n'
        : useChannel
          ? `secure channel, key fingerprint ${keys.fingerprint} (clients connect with --pin ${keys.fingerprint})\n`
          : `TLS 1.3, key fingerprint ${keys.fingerprint} (clients connect with --tls --pin ${keys.fingerprint})\n`,
    );
    if (values['no-console'] === true) {
      const signal = await new Promise<NodeJS.Signals>((resolve) => io.onSignal(resolve));
      io.stdout.write(`${signal}: stopping\n`);
      await server.stop();
      io.stdout.write('pnetwork server stopped\n');
      return 0;
    }
    return runConsole(server, io);
  },
};
