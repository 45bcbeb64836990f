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
    tls: { type: 'boolean', description: 'connect with TLS 1.3; needs --pin (without it, packets and tokens travel in clear text)' },
    pin: { type: 'string', valueName: '<fingerprint>', description: "the server key's fingerprint, as keygen and serve print it; implies --tls" },
  },
  async run({ positionals, values }: ParsedArgs, io: BinIo): Promise<number> {
    const [target] = positionals;
    const { host, port } = target === undefined ? { host: DEFAULTS.host, port: DEFAULTS.port } : parseHostPort(target, DEFAULTS);
    const pin = typeof values.pin === 'string' ? values.pin : undefined;
    if (values.tls === true && pin === undefined) throw new UsageError('--tls needs --pin <fingerprint> (the one pnetwork keygen printed)', 'connect');
    const client = new Client({ host, port, ...(pin !== undefined ? { tls: { serverFingerprint: pin } } : {}) });
    await client.start();
    io.stdout.write(`connected to ${host}:${port}${pin !== undefined ? ' over TLS 1.3, server key pinned' : ' over plain TCP (clear text)'}\n`);
    return runConsole(client, io);
  },
};
