/**
 * `pnetwork connect [host:port]`: a client with the console.
 * @module
 */
import { Client } from '../../client.js';
import { DEFAULTS } from '../../defaults.js';
import { parseHostPort, UsageError, type BinIo, type ParsedArgs, type Subcommand } from '../args.js';
import { runConsole } from './run-console.js';

/** The `connect` subcommand. */
export const connect: Subcommand = {
  summary: `connect to a server (default ${DEFAULTS.host}:${DEFAULTS.port}) and open a console`,
  positionalsUsage: '[host:port]',
  maxPositionals: 1,
  options: {
    tls: { type: 'boolean', description: 'connect with TLS 1.3 (to serve --tls); needs --pin' },
    pin: { type: 'string', valueName: '<fingerprint>', description: "the server key's fingerprint, as keygen and serve print it; without --tls, the secure channel (to serve --encrypt)" },
    'known-hosts': { type: 'string', valueName: '<file>', description: 'the secure channel, trusting the key a server first presents and refusing a changed one (like ssh)' },
  },
  async run({ positionals, values }: ParsedArgs, io: BinIo): Promise<number> {
    const [target] = positionals;
    const { host, port } = target === undefined ? { host: DEFAULTS.host, port: DEFAULTS.port } : parseHostPort(target, DEFAULTS);
    const pin = typeof values.pin === 'string' ? values.pin : undefined;
    const knownHosts = typeof values['known-hosts'] === 'string' ? values['known-hosts'] : undefined;
    if (values.tls === true && pin === undefined) throw new UsageError('--tls needs --pin <fingerprint> (the one pnetwork keygen printed)', 'connect');
    if (values.tls === true && knownHosts !== undefined) throw new UsageError('--known-hosts is for the secure channel, not --tls', 'connect');
    const tls = values.tls === true;
    const channel = !tls && (pin !== undefined || knownHosts !== undefined);
    const client = new Client({
      host,
      port,
      ...(tls ? { tls: { serverFingerprint: pin } } : {}),
      ...(channel ? { encryption: { ...(pin !== undefined ? { serverFingerprint: pin } : {}), ...(knownHosts !== undefined ? { knownHosts } : {}) } } : {}),
    });
    await client.start();
    const how = tls ? ' over TLS 1.3, server key pinned' : channel ? ` over the secure channel, server key ${client.connection?.peerFingerprint ?? '?'}` : ' over plain TCP (clear text)';
    io.stdout.write(`connected to ${host}:${port}${how}\n`);
    return runConsole(client, io);
  },
};
