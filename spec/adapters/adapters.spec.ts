import { createHook } from 'node:async_hooks';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { PublishError } from '../../lib/errors.js';
import type { Adapter, AdapterListener, AdapterStatus } from '../../lib/adapters/adapter.js';
import { MemoryBus, memoryAdapter } from '../../lib/adapters/memory.js';
import { natsAdapter } from '../../lib/adapters/nats.js';
import { redisAdapter } from '../../lib/adapters/redis.js';
import { engineUrl, PrivateEngine, requireEngine, skipOrFail, type EngineKind } from '../helpers/engines.js';
import { until } from '../helpers/wait.js';

/**
 * The timers and TCP sockets that `work` made and that still hold the process once it has settled:
 * each as its kind and the first line of our code or the library's that made it.
 */
async function resourcesLeftBy(work: () => Promise<void>): Promise<string[]> {
  const live = new Map<number, { type: string; resource: { hasRef?: () => boolean }; stack: string[] }>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type !== 'Timeout' && type !== 'TCPWRAP') return;
      const stack = (new Error().stack ?? '').split('\n').slice(2).map((line) => line.trim());
      // Mocha's own timer for the running test is not the work's.
      if (stack.some((line) => line.includes('node_modules/mocha/'))) return;
      live.set(id, { type, resource: resource as { hasRef?: () => boolean }, stack: stack.filter((line) => !line.includes('node:')).slice(0, 2) });
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  try {
    await work();
    // A timer tick and a turn of the event loop let sockets finish closing and due timers fire (a
    // timer made earlier for 0 or 1 ms fires no later than this one).
    await new Promise((resolve) => setTimeout(resolve, 1));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    hook.disable();
  }
  return [...live.values()].filter((entry) => entry.resource.hasRef?.() !== false).map((entry) => `${entry.type} ${entry.stack.join(' < ')}`);
}

/** A listener that records what it is told. */
class Recorder implements AdapterListener {
  readonly messages: Array<[string, string]> = [];
  readonly statuses: AdapterStatus[] = [];
  message(channel: string, message: string): void {
    this.messages.push([channel, message]);
  }
  status(status: AdapterStatus): void {
    this.statuses.push(status);
  }
}

interface Flavour {
  name: string;
  engine?: EngineKind;
  make(url?: string): Adapter;
}

const bus = new MemoryBus();
const flavours: Flavour[] = [
  { name: 'memoryAdapter', make: () => memoryAdapter({ bus }) },
  { name: 'redisAdapter', engine: 'redis', make: (url = engineUrl('redis')) => redisAdapter({ url, maxReconnectDelayMs: 100 }) },
  { name: 'natsAdapter', engine: 'nats', make: (url = engineUrl('nats')) => natsAdapter({ servers: url, reconnectDelayMs: 50 }) },
];

for (const flavour of flavours) {
  describe(flavour.name, function () {
    this.timeout(30_000);
    const open: Adapter[] = [];

    before(async function () {
      if (flavour.engine) await requireEngine(this, flavour.engine);
    });

    afterEach(async () => {
      await Promise.all(open.splice(0).map((adapter) => adapter.close()));
    });

    async function opened(channels: string[], url?: string): Promise<{ adapter: Adapter; recorder: Recorder }> {
      const adapter = flavour.make(url);
      open.push(adapter);
      const recorder = new Recorder();
      await adapter.open(channels, recorder);
      return { adapter, recorder };
    }

    it('delivers what one adapter publishes to every subscriber of the channel, in publish order', async () => {
      const channel = `spec.${randomUUID()}`;
      const a = await opened([channel]);
      const b = await opened([channel]);
      const other = await opened([`${channel}.other`]);
      const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
      await Promise.all(sent.map((message) => a.adapter.publish(channel, message)));
      for (const { recorder } of [a, b]) {
        await until(() => recorder.messages.length >= sent.length, 10_000, 'every message');
        expect(recorder.messages.map(([, message]) => message)).to.deep.equal(sent);
        expect(recorder.messages.every(([c]) => c === channel)).to.equal(true);
      }
      expect(other.recorder.messages).to.deep.equal([]);
    });

    it('rejects a publish after close with PublishError', async () => {
      const { adapter } = await opened([`spec.${randomUUID()}`]);
      await adapter.close();
      const err = await adapter.publish('x', 'y').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(PublishError);
      expect((err as PublishError).code).to.equal('ERR_PUBLISH');
    });

    it('opens again after close, as a server restarted after stop() needs', async () => {
      const channel = `spec.${randomUUID()}`;
      const { adapter } = await opened([channel]);
      await adapter.close();
      const recorder = new Recorder();
      await adapter.open([channel], recorder);
      await adapter.publish(channel, 'again');
      await until(() => recorder.messages.length === 1, 10_000, 'the message after reopening');
      expect(recorder.messages).to.deep.equal([[channel, 'again']]);
    });

    if (flavour.engine) {
      const kind = flavour.engine;

      it('rejects opening when the engine cannot be reached', async () => {
        const adapter = flavour.make(kind === 'redis' ? 'redis://127.0.0.1:1' : 'nats://127.0.0.1:1');
        const err = await adapter.open(['x'], new Recorder()).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(Error);
        await adapter.close();
      });

      it('an engine that cannot be reached: open rejects with the connect error, and close leaves no timer or socket behind', async () => {
        const adapter = flavour.make(kind === 'redis' ? 'redis://127.0.0.1:1' : 'nats://127.0.0.1:1');
        let err: unknown;
        const left = await resourcesLeftBy(async () => {
          err = await adapter.open(['x'], new Recorder()).then(
            () => null,
            (e: unknown) => e,
          );
          await adapter.close();
        });
        expect((err as Error).message).to.match(/ECONNREFUSED|refused/i);
        expect(left, 'timers and sockets still holding the process').to.deep.equal([]);
      });

      it('reports an outage, rejects publishes while it lasts, reconnects by itself and says so', async function () {
        const engine = await PrivateEngine.start(kind);
        if (!engine) skipOrFail(this, `no ${kind} server binary to start a private one`);
        try {
          const channel = `spec.${randomUUID()}`;
          const a = await opened([channel], engine.url);
          const b = await opened([channel], engine.url);
          await a.adapter.publish(channel, 'before');
          await until(() => b.recorder.messages.length === 1, 10_000, 'the first message');

          await engine.kill();
          await until(() => a.recorder.statuses.some((s) => s.state === 'down'), 10_000, 'the outage reported');
          expect(a.recorder.statuses[0]).to.include({ state: 'down' });
          const during = await a.adapter.publish(channel, 'during').then(
            () => null,
            (e: unknown) => e,
          );
          expect(during).to.be.instanceOf(PublishError);

          await engine.restart();
          for (const { recorder } of [a, b]) {
            await until(() => recorder.statuses.some((s) => s.state === 'up'), 15_000, 'the reconnect reported');
            expect(recorder.statuses.at(-1)).to.deep.equal({ state: 'up', reconnected: true });
          }
          await a.adapter.publish(channel, 'after');
          await until(() => b.recorder.messages.length === 2, 10_000, 'a message after the reconnect');
          expect(b.recorder.messages.map(([, m]) => m)).to.deep.equal(['before', 'after']);
        } finally {
          await Promise.all(open.splice(0).map((adapter) => adapter.close()));
          await engine.kill();
        }
      });
    }
  });
}

describe('nats adapter: closed while it is still opening', () => {
  it('closes the connection the engine answers late, and subscribes to nothing', async () => {
    const subs: string[] = [];
    const sockets = new Set<Socket>();
    // A NATS engine that greets 300 ms late: the adapter is closed before it can connect.
    const engine = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      const greet = setTimeout(() => socket.write('INFO {"server_id":"late","version":"2.10.0","proto":1,"max_payload":1048576,"headers":true}\r\n'), 300);
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString();
        for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (line.startsWith('PING')) socket.write('PONG\r\n');
          if (line.startsWith('SUB')) subs.push(line);
        }
      });
      socket.on('close', () => {
        clearTimeout(greet);
        sockets.delete(socket);
      });
    });
    await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
    try {
      const adapter = natsAdapter({ servers: `127.0.0.1:${(engine.address() as AddressInfo).port}` });
      const opening = adapter.open(['late.all'], { message: () => undefined, status: () => undefined }).then(
        () => 'opened',
        () => 'refused',
      );
      await until(() => sockets.size === 1, 5_000, 'the adapter to connect');
      await adapter.close();
      expect(await opening).to.equal('refused');
      await until(() => sockets.size === 0, 5_000, 'the late connection to be closed');
      expect(subs, 'subscriptions the engine got').to.deep.equal([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      engine.close();
    }
  });
});
