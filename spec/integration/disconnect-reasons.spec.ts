import { expect } from 'chai';
import type { Subscription } from 'rxjs';
import { Client } from '../../lib/client.js';
import { Server } from '../../lib/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { until, withDeadline } from '../helpers/wait.js';
import { specScope } from '../helpers/spec-scope.js';

const WAIT_MS = 5000;
const BACKOFF_MS = 200;

describe('integration: disconnect reasons end to end', () => {
  const { cleanups, subscriptions } = specScope(WAIT_MS);

  async function startServer(): Promise<Server> {
    const server = new Server({ port: 0, heartbeatIntervalMs: 0 });
    cleanups.push(() => server.stop());
    await server.start();
    return server;
  }

  /** A client whose timers (backoff included) run on a virtual clock the spec moves. */
  async function startClient(server: Server, clock: VirtualClock): Promise<Client> {
    const client = new Client({ port: server.address().port, heartbeatIntervalMs: 0, reconnectDelayMs: BACKOFF_MS, random: () => 0, scheduler: clock });
    cleanups.push(() => client.stop());
    await withDeadline(client.start(), WAIT_MS, 'client.start()');
    return client;
  }

  function collect<T>(source: { subscribe(next: (value: T) => void): Subscription }): T[] {
    const values: T[] = [];
    subscriptions.push(source.subscribe((value) => values.push(value)));
    return values;
  }

  it('delivers the close reason to the client, which waits its normal backoff before reconnecting', async () => {
    const server = await startServer();
    const clock = new VirtualClock();
    const client = await startClient(server, clock);
    const reasons = collect(client.disconnect$);
    const attempts = collect(client.reconnectAttempt$);
    const connections = collect(server.connection$);
    const [connection] = [...server.clients.values()];
    await connection!.close('spamming the lobby');
    await until(() => reasons.length === 1, WAIT_MS, 'disconnect$');
    expect(reasons).to.deep.equal(['closed by peer: spamming the lobby']);
    expect(client.state).to.equal('reconnecting');
    expect(attempts).to.deep.equal([{ attempt: 1, delayMs: BACKOFF_MS }]);
    // Not before the backoff: the attempt is a timer on the client's clock, not an immediate reconnect.
    clock.advance(BACKOFF_MS - 1);
    expect(client.state).to.equal('reconnecting');
    expect(connections).to.have.length(0);
    clock.advance(1);
    await until(() => client.state === 'connected', WAIT_MS, 'the reconnection after the backoff');
    expect(connections).to.have.length(1);
  });

  it('does not reconnect when the server closes with retry: false, and says so on the wire', async () => {
    const server = await startServer();
    const clock = new VirtualClock();
    const client = await startClient(server, clock);
    const reasons = collect(client.disconnect$);
    await [...server.clients.values()][0]!.close('banned', { retry: false });
    await until(() => reasons.length === 1, WAIT_MS, 'disconnect$');
    expect(reasons).to.deep.equal(['closed by peer: banned']);
    expect(client.state).to.equal('closed');
    clock.advance(60_000);
    expect(server.clients.size).to.equal(0);

    const raw = await RawClient.connect(server.address().port);
    cleanups.push(() => raw.destroy());
    await raw.handshake();
    await [...server.clients.values()][0]!.close('go away', { retry: false });
    const closing = await raw.waitFor((frame) => frame.action === 'closing', 'closing');
    expect(closing.data).to.deep.equal({ reason: 'go away', retry: false });
  });

  it('sends a plain closing packet (no retry field) by default', async () => {
    const server = await startServer();
    const raw = await RawClient.connect(server.address().port);
    cleanups.push(() => raw.destroy());
    await raw.handshake();
    await [...server.clients.values()][0]!.close('maintenance');
    const closing = await raw.waitFor((frame) => frame.action === 'closing', 'closing');
    expect(closing.data).to.deep.equal({ reason: 'maintenance' });
  });
});
