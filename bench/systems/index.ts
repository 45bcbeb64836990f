/**
 * The systems under test, by name, loaded on demand (so a missing one never breaks the others).
 * @module
 */
import type { BenchSystem } from './types.js';

/** Names in the order runs take turns: the floors first. */
export const SYSTEM_NAMES = ['net-lean', 'net', 'ws', 'socketio', 'pnetwork', 'tls', 'pnetwork-tls', 'pnetwork-channel'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

/** The systems a case runs when it names none: the TLS pair runs only where a case asks for it. */
export const BASE_SYSTEMS: readonly SystemName[] = ['net-lean', 'net', 'ws', 'socketio', 'pnetwork'];

/** True for the systems built from dist/ (they are skipped when it is missing). */
export const isPnetwork = (name: SystemName): boolean => name === 'pnetwork' || name === 'pnetwork-tls' || name === 'pnetwork-channel';

/** Human labels for reports. */
export const SYSTEM_LABELS: Record<SystemName, string> = {
  'net-lean': 'node:net floor, cheapest',
  net: 'node:net floor, same envelope',
  ws: 'ws',
  socketio: 'socket.io (websocket)',
  pnetwork: 'pnetwork',
  tls: 'node:tls floor',
  'pnetwork-tls': 'pnetwork over TLS',
  'pnetwork-channel': 'pnetwork, secure channel',
};

export function isSystemName(name: string): name is SystemName {
  return (SYSTEM_NAMES as readonly string[]).includes(name);
}

/** Loads one system's module. */
export async function loadSystem(name: SystemName): Promise<BenchSystem> {
  switch (name) {
    case 'net-lean':
      return (await import('./net-lean.js')).system;
    case 'net':
      return (await import('./net-floor.js')).system;
    case 'ws':
      return (await import('./ws.js')).system;
    case 'socketio':
      return (await import('./socketio.js')).system;
    case 'pnetwork': {
      const module = await import('./pnetwork.js');
      await module.loadPnetwork();
      return module.system;
    }
    case 'tls':
      return (await import('./net-floor.js')).tlsSystem;
    case 'pnetwork-tls': {
      const module = await import('./pnetwork.js');
      await module.loadPnetwork();
      return module.tlsSystem;
    }
    case 'pnetwork-channel': {
      const module = await import('./pnetwork.js');
      await module.loadPnetwork();
      return module.channelSystem;
    }
  }
}
