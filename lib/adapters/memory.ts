/**
 * The in-memory adapter: the default. With its own bus it is one process on its own (today's
 * behaviour, no dependency); servers given one shared {@link MemoryBus} form a cluster inside one
 * process, which is how the cluster layer is tested without an engine.
 * @module
 */
import { PublishError } from '../errors.js';
import type { Adapter, AdapterListener } from './adapter.js';

/** Channels to the listeners subscribed to them, inside one process. */
export class MemoryBus {
  private readonly channels = new Map<string, Set<AdapterListener>>();
  private readonly queue: Array<[string, string]> = [];
  private draining = false;

  /** @internal */
  subscribe(channel: string, listener: AdapterListener): void {
    let listeners = this.channels.get(channel);
    if (!listeners) this.channels.set(channel, (listeners = new Set()));
    listeners.add(listener);
  }

  /** @internal */
  unsubscribe(channel: string, listener: AdapterListener): void {
    this.channels.get(channel)?.delete(listener);
  }

  /** @internal Delivers on a later microtask, in publish order, as an engine would: never inside the publisher's call. */
  publish(channel: string, message: string): void {
    this.queue.push([channel, message]);
    if (this.draining) return;
    this.draining = true;
    queueMicrotask(() => this.drain());
  }

  private drain(): void {
    // One message at a time, so a listener that publishes queues behind what is already waiting.
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        const [channel, message] = next;
        for (const listener of this.channels.get(channel) ?? []) listener.message(channel, message);
      }
    } finally {
      // A listener that threw must not stall the bus: what is left is delivered on the next turn,
      // and the error surfaces as any listener's error would.
      this.draining = this.queue.length > 0;
      if (this.draining) queueMicrotask(() => this.drain());
    }
  }
}

/** Options for {@link memoryAdapter}. */
export interface MemoryAdapterOptions {
  /** The bus to share with other servers in this process. @defaultValue a bus of its own */
  bus?: MemoryBus;
}

class MemoryAdapter implements Adapter {
  readonly kind = 'memory';
  private listener: AdapterListener | null = null;
  private channels: readonly string[] = [];

  constructor(
    private readonly bus: MemoryBus,
    readonly solitary: boolean,
  ) {}

  open(channels: readonly string[], listener: AdapterListener): Promise<void> {
    this.listener = listener;
    this.channels = channels;
    for (const channel of channels) this.bus.subscribe(channel, listener);
    return Promise.resolve();
  }

  publish(channel: string, message: string): Promise<void> {
    if (!this.listener) return Promise.reject(new PublishError(this.kind, new Error('adapter is not open')));
    this.bus.publish(channel, message);
    return Promise.resolve();
  }

  close(): Promise<void> {
    const listener = this.listener;
    if (listener) for (const channel of this.channels) this.bus.unsubscribe(channel, listener);
    this.listener = null;
    return Promise.resolve();
  }
}

/**
 * The in-memory adapter.
 * @example
 * const bus = new MemoryBus();
 * const a = new Server({ port: 0, adapter: memoryAdapter({ bus }) });
 * const b = new Server({ port: 0, adapter: memoryAdapter({ bus }) });   // a and b act as one
 */
export function memoryAdapter(options: MemoryAdapterOptions = {}): Adapter {
  return options.bus ? new MemoryAdapter(options.bus, false) : new MemoryAdapter(new MemoryBus(), true);
}
