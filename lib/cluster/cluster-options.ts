/**
 * The server options for scaling out, merged over DEFAULTS once.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import { DEFAULTS } from '../defaults.js';
import { checkDelay } from '../timing.js';
import type { Adapter } from '../adapters/adapter.js';
import { memoryAdapter } from '../adapters/memory.js';
import type { ClusterSettings } from './cluster.js';

/** Options a Server takes to act as one with servers in other processes. */
export interface ClusterOptions {
  /**
   * How this server reaches the others: `redisAdapter({ url })`, `natsAdapter({ servers })`, or
   * `memoryAdapter({ bus })` for servers in one process. @defaultValue `memoryAdapter()`: one process, on its own
   */
  adapter?: Adapter;
  /** Prefix of the cluster's channels (1 to 128 letters, digits, `-` or `_`); servers with another name ignore this cluster. @defaultValue 'pnetwork' */
  clusterName?: string;
  /** Interval between heartbeats to the other nodes, in ms. @defaultValue 2 000 */
  clusterHeartbeatIntervalMs?: number;
  /** A node not heard from for this long leaves the cluster view, in ms; above the heartbeat interval. @defaultValue 6 000 */
  clusterNodeTimeoutMs?: number;
  /** Time another node has to answer, in ms. @defaultValue 5 000 */
  clusterTimeoutMs?: number;
}

/**
 * The adapter and cluster settings from a server's options.
 * @throws RangeError for a timing that cannot work, or a node timeout not above the heartbeat interval
 */
export function resolveClusterOptions(options: ClusterOptions, scheduler: SchedulerLike): { adapter: Adapter; settings: ClusterSettings } {
  const heartbeatIntervalMs = checkDelay('clusterHeartbeatIntervalMs', options.clusterHeartbeatIntervalMs ?? DEFAULTS.clusterHeartbeatIntervalMs);
  const nodeTimeoutMs = checkDelay('clusterNodeTimeoutMs', options.clusterNodeTimeoutMs ?? DEFAULTS.clusterNodeTimeoutMs);
  if (nodeTimeoutMs <= heartbeatIntervalMs) {
    throw new RangeError(`clusterNodeTimeoutMs (${nodeTimeoutMs}) must be above clusterHeartbeatIntervalMs (${heartbeatIntervalMs})`);
  }
  const name = options.clusterName ?? DEFAULTS.clusterName;
  // The name prefixes channel names (NATS subjects, Redis channels): wildcards, dots and white space
  // would make it match, or split into, other clusters' channels.
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(name)) {
    throw new RangeError(`clusterName must be 1 to 128 letters, digits, '-' or '_'; got ${JSON.stringify(String(name)).slice(0, 140)}`);
  }
  return {
    adapter: options.adapter ?? memoryAdapter(),
    settings: {
      name,
      heartbeatIntervalMs,
      nodeTimeoutMs,
      timeoutMs: checkDelay('clusterTimeoutMs', options.clusterTimeoutMs ?? DEFAULTS.clusterTimeoutMs),
      scheduler,
    },
  };
}
