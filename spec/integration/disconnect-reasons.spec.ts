import { expect } from 'chai';
import { Client } from '../../lib/client.js';
import { Server } from '../../lib/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { until } from '../helpers/wait.js';
import { specScope } from '../helpers/spec-scope.js';

const WAIT_MS = 5000;
const BACKOFF_MS = 200;

describe('integration: disconnect reasons end to end', () => {
  const scope = specScope(WAIT_MS);
  const { cleanups, collect } = scope;

  function startServer(): Promise<Server> {
    return scope.started(new Server({ port: 0, heartbeatIntervalMs: 0 }));
  }

  /** A client whose timers (backoff included) run on a virtual clock the spec moves. */
  function startClient(server: Server, clock: VirtualClock): Promise<Client> {
    return scope.started(new Client({ port: server.address().port, heartbeatIntervalMs: 0, reconnectDelayMs: BACKOFF_MS, random: () => 0, scheduler: clock }));
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
