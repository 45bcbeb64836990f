/**
 * `pnetwork connect [host:port]`: a client with the console.
 * @module
 */
import { Client } from '../../client.js';
import { DEFAULTS } from '../../defaults.js';
import { parseHostPort, type BinIo, type ParsedArgs, type Subcommand } from '../args.js';
import { runConsole } from './run-console.js';

/** The `connect` subcommand. */
export const connect: Subcommand = {
  summary: `connect to a server (default ${DEFAULTS.host}:${DEFAULTS.port}) and open a console`,
  positionalsUsage: '[host:port]',
  maxPositionals: 1,
  options: {},
  async run({ positionals }: ParsedArgs, io: BinIo): Promise<number> {
    const [target] = positionals;
    const { host, port } = target === undefined ? { host: DEFAULTS.host, port: DEFAULTS.port } : parseHostPort(target, DEFAULTS);
    const client = new Client({ host, port });
    await client.start();
    io.stdout.write(`connected to ${host}:${port}\n`);
    return runConsole(client, io);
  },
};
