/**
 * pnetwork/testing: a Server and Clients over an in-memory network on a virtual clock, for tests of
 * handlers, timeouts and heartbeats that need no sockets and no waiting. Exported as `pnetwork/testing`.
 * @packageDocumentation
 */
export { createTestNetwork, createTestPair, TestNetwork, type TestNetworkOptions, type TestClientOptions, type TestPair, type StoppedReader } from './test-network.js';
export { VirtualClock } from './virtual-clock.js';
export { WireLog, type WirePacket, type WireSide, type WireFilter } from './wire-log.js';
export { MemoryTransport, type MemoryTap } from '../transport/memory-transport.js';
