/**
 * The client console's commands: help, status, send, request, stream, log, reconnect, quit.
 * @module
 */
import { filter, firstValueFrom, from, map, race } from 'rxjs';
import { formatData, formatDuration, printable } from '../format.js';
import type { ConsoleClient } from '../instance.js';
import { parseJsonArgument } from '../json-arg.js';
import type { PacketLog } from '../packet-log.js';
import type { RateMeter } from '../rates.js';
import { formatPairs } from '../table.js';
import { splitArgs } from '../words.js';
import { describeError } from '../describe-error.js';
import { usageError, type Command } from './command.js';
import { helpCommand, logCommand, quitCommand } from './common.js';
import { recordsLabel, trafficPairs, transportLabel } from './traffic.js';

/** What the client commands work with. */
export interface ClientCommandDeps {
  /** The client. */
  client: ConsoleClient;
  /** Samples `client.stats()` for rates. */
  meter: RateMeter;
  /** The live packet log. */
  log: PacketLog;
  /** Notes an action name for Tab completion. */
  remember(action: string): void;
}

/**
 * Builds the client console's commands.
 * @param deps the client and the console's helpers
 * @returns the commands, in the order help lists them
 */
export function clientCommands(deps: ClientCommandDeps): Command[] {
  const { client, meter, log, remember } = deps;

  const status: Command = {
    name: 'status',
    usage: 'status',
    summary: 'connection state, server address, uptime, and packets and bytes per second',
    run(_args, { print, now, style }) {
      const stats = client.stats();
      const { host, port } = client.address();
      const time = now();
      print(
        formatPairs(
          [
            ['state', client.state],
            ['server', `${host}:${port}`],
            ['transport', transportLabel(client.connection?.encrypted, client.connection?.security)],
            ['server key', client.connection?.peerFingerprint ?? '-'],
            ...(client.connection?.security === 'channel' ? [['records', recordsLabel(client.connection.channelRecords)] as [string, string]] : []),
            ['id', client.connection?.id ?? '-'],
            ['uptime', stats.startedAt === null ? '-' : formatDuration(time - stats.startedAt)],
            ...trafficPairs(meter, stats, time),
          ],
          style,
        ),
      );
    },
  };

  const send: Command = {
    name: 'send',
    usage: 'send <action> [json]',
    summary: 'send a one-way packet to the server',
    details: ['json defaults to null, e.g. send chat {"text":"hi"}'],
    completion: ['action'],
    async run(args, { print, style }) {
      const { words, rest } = splitArgs(args, 1);
      const [action] = words;
      if (action === undefined) throw usageError(send);
      const data = parseJsonArgument(rest);
      remember(action);
      if (client.state === 'connecting' || client.state === 'reconnecting') {
        // It waits in the offline queue until the client is connected: the prompt comes back at once,
        // and a failure then (the queue is full, the client stops) is printed when it comes.
        const state = client.state;
        client.sendPacket(action, data).catch((error: unknown) => print(style('red', describeError(error))));
        print(`queued ${printable(action, 256)} (${state}: it goes out once connected)`);
        return;
      }
      await client.sendPacket(action, data);
      print(`sent ${printable(action, 256)}`);
    },
  };

  const request: Command = {
    name: 'request',
    usage: 'request <action> [json]',
    summary: "send a request and print the server's reply (or its error code and message)",
    completion: ['action'],
    async run(args, { print, style }) {
      const { words, rest } = splitArgs(args, 1);
      const [action] = words;
      if (action === undefined) throw usageError(request);
      const data = parseJsonArgument(rest);
      remember(action);
      const reply = await client.request(action, data);
      print(`${style('green', 'reply')} ${formatData(reply, 10_000) || 'undefined'}`);
    },
  };

  const stream: Command = {
    name: 'stream',
    usage: 'stream <action> [json]',
    summary: "request a stream and print the server's values as they arrive; Ctrl-C cancels it",
    details: ['the console waits until the stream completes, fails or is cancelled'],
    completion: ['action'],
    run(args, { print, style, onInterrupt }) {
      const { words, rest } = splitArgs(args, 1);
      const [action] = words;
      if (action === undefined) throw usageError(stream);
      const data = parseJsonArgument(rest);
      remember(action);
      return new Promise<void>((resolve, reject) => {
        let count = 0;
        let release = (): void => undefined;
        const values = (n: number): string => `${n} value${n === 1 ? '' : 's'}`;
        const subscription = client.stream(action, data).subscribe({
          next: (value) => {
            count++;
            print(`${style('green', 'next')} ${formatData(value, 10_000) || 'null'}`);
          },
          error: (err: unknown) => {
            release();
            reject(err instanceof Error ? err : new Error(String(err)));
          },
          complete: () => {
            release();
            print(`${style('green', 'complete')} after ${values(count)}`);
            resolve();
          },
        });
        if (subscription.closed) return;
        release = onInterrupt(() => {
          release();
          subscription.unsubscribe();
          print(`${style('yellow', 'cancelled')} after ${values(count)}`);
          resolve();
        });
      });
    },
  };

  const reconnect: Command = {
    name: 'reconnect',
    usage: 'reconnect',
    summary: 'drop the connection and connect again',
    async run(_args, { print, style }) {
      const done = client.reconnect();
      // When the new connection cannot be made, the client goes on trying in the background (the
      // prompt shows its state): the console does not wait for that.
      const outcome = await firstValueFrom(
        race(
          from(done).pipe(map(() => 'connected' as const)),
          client.state$.pipe(
            filter((state) => state === 'reconnecting'),
            map(() => 'retrying' as const),
          ),
        ),
      );
      if (outcome === 'retrying') {
        done.catch((error: unknown) => print(style('red', describeError(error))));
        print(style('yellow', 'could not connect: the client goes on trying'));
        return;
      }
      print(`reconnected (${client.state})`);
    },
  };

  return [
    helpCommand,
    status,
    send,
    request,
    stream,
    logCommand(log, 'the server'),
    reconnect,
    quitCommand('quit', 'disconnect and leave'),
  ];
}
