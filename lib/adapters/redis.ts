/**
 * The Redis adapter: Redis pub/sub through ioredis (an optional peer dependency, loaded when the
 * adapter opens). docs/scaling.md says why pub/sub and not Streams.
 * @module
 */
import type * as IoRedis from 'ioredis';
import type { Redis } from 'ioredis';
import { DEFAULTS } from '../defaults.js';
import { PublishError } from '../errors.js';
import { checkDelay } from '../timing.js';
import type { Adapter, AdapterListener } from './adapter.js';
import { loadOptional } from './load-optional.js';

/** Options for {@link redisAdapter}. */
export interface RedisAdapterOptions {
  /** The Redis to use. @defaultValue 'redis://127.0.0.1:6379' */
  url?: string;
  /** Longest wait between reconnection attempts, in ms. @defaultValue 2 000 */
  maxReconnectDelayMs?: number;
}

class RedisAdapter implements Adapter {
  readonly kind = 'redis';
  private pub: Redis | null = null;
  private sub: Redis | null = null;
  private listener: AdapterListener | null = null;
  private channels: readonly string[] = [];
  /** Which of the two connections are ready (and, for the subscriber, subscribed). */
  private readonly ready = { pub: false, sub: false };
  private down = false;
  private closing = false;
  private lastError: Error | null = null;

  constructor(private readonly url: string, private readonly maxReconnectDelayMs: number) {}

  async open(channels: readonly string[], listener: AdapterListener): Promise<void> {
    const { Redis } = await loadOptional<typeof IoRedis>('ioredis', 'redisAdapter');
    this.listener = listener;
    this.channels = channels;
    // A server may start again after a stop: this adapter then opens afresh.
    this.closing = false;
    this.down = false;
    this.ready.pub = false;
    this.ready.sub = false;
    this.lastError = null;
    const options = {
      lazyConnect: true,
      // A publish while the link is down, or in flight when it drops, rejects instead of waiting or
      // being sent twice after the reconnect: delivery across nodes is at most once.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), this.maxReconnectDelayMs),
      // disconnect() is only the fallback for a client that is not connected (quit() covers the others);
      // its stream then never closes again, and ioredis's timer to destroy it would hold the process.
      disconnectTimeout: 0,
    };
    const pub = (this.pub = new Redis(this.url, { ...options, connectionName: 'pnetwork-pub' }));
    const sub = (this.sub = new Redis(this.url, { ...options, connectionName: 'pnetwork-sub' }));
    sub.on('message', (channel: string, message: string) => this.listener?.message(channel, message));
    for (const [role, client] of [['pub', pub], ['sub', sub]] as const) {
      // 'error' says why; 'close' says the link is gone (ioredis then retries by itself).
      client.on('error', (err: Error) => (this.lastError = err));
      client.on('close', () => this.lost(role));
      client.on('ready', () => void this.onReady(role, client));
    }
    try {
      await Promise.all([pub.connect(), sub.connect()]);
      await sub.subscribe(...channels);
      this.ready.sub = true;
    } catch (err) {
      // The rejection says only 'Connection is closed.'; the client's 'error' says why (ECONNREFUSED, …).
      const reason = this.lastError ?? err;
      await this.close();
      throw reason;
    }
  }

  publish(channel: string, message: string): Promise<void> {
    const pub = this.pub;
    if (!pub || this.closing) return Promise.reject(new PublishError(this.kind, new Error('adapter is not open')));
    return pub.publish(channel, message).then(
      () => undefined,
      (err: unknown) => Promise.reject(new PublishError(this.kind, err)),
    );
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.listener = null;
    await Promise.all([this.pub, this.sub].map((client) => (client ? quitOrDrop(client) : undefined)));
  }

  /** A connection became ready: on a reconnect the subscriber subscribes again before the adapter says it is up. */
  private async onReady(role: 'pub' | 'sub', client: Redis): Promise<void> {
    if (role === 'sub' && this.down) {
      try {
        await client.subscribe(...this.channels);
      } catch (err) {
        // The link dropped again while subscribing; its 'close' brings the next attempt.
        this.lastError = err instanceof Error ? err : new Error(String(err));
        return;
      }
    }
    if (role === 'sub' && !this.down && !this.ready.sub) return; // the first subscribe is open()'s
    this.ready[role] = true;
    if (this.down && this.ready.pub && this.ready.sub && !this.closing) {
      this.down = false;
      this.listener?.status({ state: 'up', reconnected: true });
    }
  }

  private lost(role: 'pub' | 'sub'): void {
    const wasReady = this.ready[role];
    this.ready[role] = false;
    // Before the first connect, open() reports the failure by rejecting; after close() nothing is reported.
    if (this.closing || !wasReady || this.down) return;
    this.down = true;
    this.listener?.status({ state: 'down', error: this.lastError ?? new Error(`connection to ${withoutCredentials(this.url)} closed`) });
    this.lastError = null;
  }
}

/** The URL without a user name or password, for messages. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'redis';
  }
}

/**
 * An adapter over Redis pub/sub. Needs the `ioredis` package (`npm install ioredis`).
 * @example
 * const server = new Server({ port: 7000, adapter: redisAdapter({ url: 'redis://127.0.0.1:6379' }) });
 */
export function redisAdapter(options: RedisAdapterOptions = {}): Adapter {
  return new RedisAdapter(options.url ?? DEFAULTS.redisUrl, checkDelay('maxReconnectDelayMs', options.maxReconnectDelayMs ?? DEFAULTS.redisMaxReconnectDelayMs));
}

/** How long a QUIT may wait for its answer before the connection is simply dropped. */
const QUIT_WAIT_MS = 1_000;

/**
 * QUIT, and the connection dropped if the engine does not answer it soon (a frozen engine never does:
 * its socket would keep the process alive). The wait's timer does not hold the process either.
 */
function quitOrDrop(client: { quit(): Promise<unknown>; disconnect(): void }): Promise<void> {
  return new Promise<void>((resolve) => {
    const drop = (): void => {
      clearTimeout(timer);
      client.disconnect();
      resolve();
    };
    const timer = setTimeout(drop, QUIT_WAIT_MS);
    timer.unref();
    client.quit().then(() => {
      clearTimeout(timer);
      resolve();
    }, drop);
  });
}
