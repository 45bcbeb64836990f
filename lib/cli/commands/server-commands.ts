/**
 * The server console's commands: help, status, clients, send, broadcast, kick, actions, log, stop, quit.
 * @module
 */
import { clientLabel, formatDuration, printable } from '../format.js';
import type { ConsoleConnection, ConsoleServer } from '../instance.js';
import { parseJsonArgument } from '../json-arg.js';
import type { PacketLog } from '../packet-log.js';
import type { RateMeter } from '../rates.js';
import { formatPairs, formatTable } from '../table.js';
import { allWords, splitArgs } from '../words.js';
import { CommandError, usageError, type Command } from './command.js';
import { helpCommand, logCommand, quitCommand } from './common.js';
import { trafficPairs, transportLabel } from './traffic.js';
import { clusterClientsTable, clusterPairs } from './cluster-view.js';

/** What the server commands work with. */
export interface ServerCommandDeps {
  /** The server. */
  server: ConsoleServer;
  /** Samples `server.stats()` for rates. */
  meter: RateMeter;
  /** The live packet log. */
  log: PacketLog;
  /** `listening` or `stopped`. */
  state(): string;
  /** Notes an action name for Tab completion. */
  remember(action: string): void;
}

/**
 * Finds a connected client by short id (any prefix of its token) or full token.
 * @param server the server
 * @param id what the user typed
 * @throws CommandError when nothing, or more than one client, matches
 */
export function findClient(server: ConsoleServer, id: string): ConsoleConnection {
  const exact = server.clients.get(id) ?? [...server.clients.values()].find((connection) => connection.id === id);
  if (exact !== undefined) return exact;
  // Prefixes of the short id only: a prefix of a secret token would let a typo reach another client,
  // and guessing one character at a time would tell the token.
  const matches = [...server.clients.values()].filter((connection) => connection.id?.startsWith(id) === true);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CommandError(`no client '${printable(id, 64)}' — 'clients' lists them`);
  throw new CommandError(`'${printable(id, 64)}' matches ${matches.length} clients — type more of the id`);
}

/**
 * Builds the server console's commands.
 * @param deps the server and the console's helpers
 * @returns the commands, in the order help lists them
 */
export function serverCommands(deps: ServerCommandDeps): Command[] {
  const { server, meter, log, remember } = deps;

  const status: Command = {
    name: 'status',
    usage: 'status',
    summary: 'address, uptime, clients, open streams, and packets and bytes per second in and out',
    run(_args, { print, now, style }) {
      const stats = server.stats();
      const { host, port } = server.address();
      const time = now();
      print(
        formatPairs(
          [
            ['state', deps.state()],
            ['address', `${host}:${port}`],
            ['transport', transportLabel(server.encrypted, server.security)],
            ['key', server.fingerprint ?? '-'],
            ['uptime', stats.startedAt === null ? '-' : formatDuration(time - stats.startedAt)],
            ['clients', String(stats.clients)],
            ['refusals', refusalSummary(server.refusals?.())],
            ['streams', String(openStreams(server))],
            ...trafficPairs(meter, stats, time),
            ...(server.cluster && !server.cluster.solitary ? clusterPairs(server.cluster, time) : []),
          ],
          style,
        ),
      );
    },
  };

  const clients: Command = {
    name: 'clients',
    usage: 'clients [--full-token]',
    summary: 'list connected clients: id, address, rooms, subject, connected for, packets in/out',
    details: [
      "ID is the connection's public id (unrelated to its token); --full-token shows the token instead (a secret: mind who watches).",
      'SUBJECT is the name the application gave the client (connection.subject), never its credential.',
    ],
    completion: [['--full-token']],
    run(args, { print, now, style }) {
      const flags = allWords(args);
      const unknown = flags.find((flag) => flag !== '--full-token');
      if (unknown !== undefined) throw usageError(clients);
      const full = flags.includes('--full-token');
      const cluster = server.cluster;
      if (!full && cluster && !cluster.solitary && server.fetchClients) {
        // With other nodes, the list is the cluster's (this node's clients marked *).
        return server.fetchClients().then((all) => print(all.length === 0 ? 'no clients connected' : clusterClientsTable(all, cluster.node, now(), style)));
      }
      const connections = [...server.clients.values()];
      if (connections.length === 0) {
        print('no clients connected');
        return;
      }
      const time = now();
      const rows = connections.map((c) => [
        full ? c.token : clientLabel(c),
        c.remoteAddress,
        roomList(c.rooms),
        c.subject === undefined ? '-' : printable(c.subject),
        formatDuration(time - c.connectedAt),
        String(c.stats.packetsIn),
        String(c.stats.packetsOut),
      ]);
      print(
        formatTable(
          [
            { header: full ? 'TOKEN' : 'ID' },
            { header: 'ADDRESS' },
            { header: 'ROOMS' },
            { header: 'SUBJECT' },
            { header: 'CONNECTED' },
            { header: 'IN', align: 'right' },
            { header: 'OUT', align: 'right' },
          ],
          rows,
          { style },
        ),
      );
    },
  };

  const send: Command = {
    name: 'send',
    usage: 'send <client> <action> [json]',
    summary: 'send a packet to one client (by short id or token)',
    details: ['json defaults to null, e.g. send a1b2 chat {"text":"hi"}'],
    completion: ['client', 'action'],
    async run(args, { print }) {
      const { words, rest } = splitArgs(args, 2);
      const [id, action] = words;
      if (id === undefined || action === undefined) throw usageError(send);
      const data = parseJsonArgument(rest);
      const connection = findClient(server, id);
      remember(action);
      await connection.sendPacket(action, data);
      print(`sent ${action} to ${clientLabel(connection)}`);
    },
  };

  const broadcast: Command = {
    name: 'broadcast',
    usage: 'broadcast <action> [json]',
    summary: 'send a packet to every client',
    completion: ['action'],
    async run(args, { print }) {
      const { words, rest } = splitArgs(args, 1);
      const [action] = words;
      if (action === undefined) throw usageError(broadcast);
      const data = parseJsonArgument(rest);
      remember(action);
      const count = await server.broadcast(action, data);
      print(`broadcast ${action} to ${count} client${count === 1 ? '' : 's'}`);
    },
  };

  const kick: Command = {
    name: 'kick',
    usage: 'kick [--no-retry] <client> [reason]',
    summary: 'close a client connection, telling it why (--no-retry: and not to reconnect)',
    details: ['The client reports the reason and reconnects after its backoff, unless --no-retry.'],
    completion: [['--no-retry'], 'client'],
    async run(args, { print }) {
      const noRetry = /^\s*--no-retry(\s|$)/.test(args);
      const { words, rest } = splitArgs(noRetry ? args.replace(/^\s*--no-retry/, '') : args, 1);
      const [id] = words;
      if (id === undefined) throw usageError(kick);
      const connection = findClient(server, id);
      await connection.close(rest === '' ? 'kicked from the console' : rest, noRetry ? { retry: false } : undefined);
      print(`kicked ${clientLabel(connection)}${noRetry ? ' (told not to reconnect)' : ''}`);
    },
  };

  const rooms: Command = {
    name: 'rooms',
    usage: 'rooms',
    summary: 'list rooms with their member counts',
    run(_args, { print, style }) {
      const counts = [...(server.rooms?.counts() ?? new Map<string, number>())].sort(([a], [b]) => a.localeCompare(b));
      if (counts.length === 0) {
        print('no rooms');
        return;
      }
      print(formatTable([{ header: 'ROOM' }, { header: 'MEMBERS', align: 'right' }], counts.map(([room, n]) => [printable(room), String(n)]), { style }));
    },
  };

  const actions: Command = {
    name: 'actions',
    usage: 'actions',
    summary: 'list bound actions with their hit counts',
    run(_args, { print, style }) {
      const bound = [...server.boundActions()].sort(([a], [b]) => a.localeCompare(b));
      if (bound.length === 0) {
        print('no actions bound');
        return;
      }
      print(formatTable([{ header: 'ACTION' }, { header: 'HITS', align: 'right' }], bound.map(([name, hits]) => [name, String(hits)]), { style }));
    },
  };

  return [
    helpCommand,
    status,
    clients,
    send,
    broadcast,
    kick,
    rooms,
    actions,
    logCommand(log, 'clients'),
    quitCommand('stop', 'stop the server gracefully and leave'),
    quitCommand('quit', 'stop the server gracefully and leave (same as stop)'),
  ];
}

/** Streams open on all of the server's connections. */
function openStreams(server: ConsoleServer): number {
  let total = 0;
  for (const connection of server.clients.values()) total += connection.openStreams ?? 0;
  return total;
}

/** Longest room list shown in one `clients` cell. */
const MAX_ROOMS_SHOWN = 5;

/** A connection's rooms for one table cell: sorted, the first few, then how many more. */
function roomList(rooms: ReadonlySet<string> | undefined): string {
  if (rooms === undefined || rooms.size === 0) return '-';
  const sorted = [...rooms].sort();
  const shown = sorted.slice(0, MAX_ROOMS_SHOWN).map((room) => printable(room)).join(',');
  return sorted.length > MAX_ROOMS_SHOWN ? `${shown} +${sorted.length - MAX_ROOMS_SHOWN}` : shown;
}

/** Refused handshakes by code, most first: `ERR_UNAUTHORIZED 3, ERR_BANNED 1`. */
function refusalSummary(refusals: ReadonlyMap<string, number> | undefined): string {
  if (refusals === undefined || refusals.size === 0) return 'none';
  return [...refusals]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([code, n]) => `${printable(code)} ${n}`)
    .join(', ');
}

