/**
 * The NATS adapter: NATS core subjects through `@nats-io/transport-node` (an optional peer dependency,
 * loaded when the adapter opens).
 * @module
 */
import type * as NatsTransport from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULTS } from '../defaults.js';
import { PublishError } from '../errors.js';
import { checkDelay } from '../timing.js';
import type { Adapter, AdapterListener } from './adapter.js';
import { loadOptional } from './load-optional.js';

/** Options for {@link natsAdapter}. */
export interface NatsAdapterOptions {
  /** The NATS server(s) to use, `host:port` or `nats://host:port`. @defaultValue '127.0.0.1:4222' */
  servers?: string | string[];
  /** Wait between reconnection attempts, in ms. @defaultValue 250 */
  reconnectDelayMs?: number;
}

class NatsAdapter implements Adapter {
  readonly kind = 'nats';
  private nc: NatsConnection | null = null;
  private listener: AdapterListener | null = null;
  private down = false;
  private closing = false;
  /** Counts opens and closes: an open that a close overtook (the engine answered late) gives up. */
  private attempt = 0;
  /** The confirmation the publishes of this turn share: one flush (a PING answered by the server) per batch. */
  private batch: Promise<void> | null = null;

  constructor(private readonly servers: string | string[], private readonly reconnectDelayMs: number) {}

  async open(channels: readonly string[], listener: AdapterListener): Promise<void> {
    const attempt = ++this.attempt;
    const { connect } = await loadOptional<typeof NatsTransport>('@nats-io/transport-node', 'natsAdapter');
    const nc = await connect({ servers: this.servers, maxReconnectAttempts: -1, reconnectTimeWait: this.reconnectDelayMs, name: 'pnetwork' });
    if (attempt !== this.attempt) {
      // close() came while connecting: this connection is nobody's, and would keep the process alive.
      await nc.close().catch(() => undefined);
      throw new Error('the adapter was closed while it was connecting');
    }
    this.nc = nc;
    this.listener = listener;
    // A server may start again after a stop: this adapter then opens afresh.
    this.closing = false;
    this.down = false;
    for (const subject of channels) {
      nc.subscribe(subject, { callback: (err, msg) => (err ? undefined : this.listener?.message(msg.subject, msg.string())) });
    }
    void this.watch(nc);
    try {
      // The server has our subscriptions once it answers a PING sent after them.
      await nc.flush();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  publish(channel: string, message: string): Promise<void> {
    const nc = this.nc;
    if (!nc || this.closing) return Promise.reject(new PublishError(this.kind, new Error('adapter is not open')));
    // While disconnected the client would buffer the message and may discard it on the next attempt.
    if (this.down) return Promise.reject(new PublishError(this.kind, new Error('not connected to NATS')));
    try {
      nc.publish(channel, message);
    } catch (err) {
      return Promise.reject(new PublishError(this.kind, err));
    }
    return this.confirm(nc);
  }

  async close(): Promise<void> {
    this.attempt++;
    if (this.closing) return;
    this.closing = true;
    this.listener = null;
    await this.nc?.close().catch(() => undefined);
  }

  /**
   * NATS core publishes are not acknowledged, and the client drops what it had not written when the
   * link breaks. A flush queued after this turn's publishes resolves once the server has read them,
   * and rejects when the link breaks first: then every publish in the batch rejects.
   */
  private confirm(nc: NatsConnection): Promise<void> {
    this.batch ??= new Promise<void>((resolve, reject) => {
      queueMicrotask(() => {
        this.batch = null;
        nc.flush().then(resolve, (err: unknown) => reject(new PublishError(this.kind, err)));
      });
    });
    return this.batch;
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.closing) return;
      if (status.type === 'disconnect' && !this.down) {
        this.down = true;
        this.listener?.status({ state: 'down', error: new Error(`disconnected from NATS at ${status.server}`) });
      } else if (status.type === 'reconnect' && this.down) {
        // The client has sent our subscriptions again; once the server answers a PING sent after
        // them, it has them, and only then are we really up.
        nc.flush().then(
          () => {
            if (this.closing || !this.down) return;
            this.down = false;
            this.listener?.status({ state: 'up', reconnected: true });
          },
          () => undefined, // the link broke again: its 'disconnect' and next 'reconnect' follow
        );
      }
    }
  }
}

/**
 * An adapter over NATS core subjects. Needs the `@nats-io/transport-node` package.
 * @example
 * const server = new Server({ port: 7000, adapter: natsAdapter({ servers: '127.0.0.1:4222' }) });
 */
export function natsAdapter(options: NatsAdapterOptions = {}): Adapter {
  return new NatsAdapter(options.servers ?? DEFAULTS.natsServers, checkDelay('reconnectDelayMs', options.reconnectDelayMs ?? DEFAULTS.natsReconnectDelayMs));
}
