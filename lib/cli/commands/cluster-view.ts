/**
 * What the server console shows of the cluster when an adapter joins the server to others: rows for
 * `status`, and the cluster-wide table for `clients`.
 * @module
 */
import { formatDuration } from '../format.js';
import type { Styler } from '../style.js';
import { formatTable } from '../table.js';

/** The parts of `server.cluster` the console reads. */
export interface ConsoleCluster {
  /** The adapter's kind: `memory`, `redis`, `nats`. */
  readonly kind: string;
  /** True for a server on its own (the default in-memory adapter): nothing to show. */
  readonly solitary: boolean;
  /** This node's id. */
  readonly node: string;
  /** The adapter's state, null before start. */
  readonly status: { readonly state: 'up' | 'down'; readonly at: number; readonly error?: Error } | null;
  /** Outages since start. */
  readonly outageCount: number;
  /** The nodes in view, this one first. */
  nodes(): ReadonlyArray<{ readonly id: string; readonly clients: number; readonly self: boolean }>;
}

/** One client of the cluster, as `server.fetchClients()` lists it. */
export interface ConsoleClusterClient {
  readonly id: string;
  readonly node: string;
  readonly address: string;
  readonly rooms: readonly string[];
  readonly connectedAt: number;
}

/**
 * The `status` rows for a cluster: the adapter and its state, this node, the nodes in view.
 * @param cluster the server's cluster
 * @param time now, in ms since the epoch
 */
export function clusterPairs(cluster: ConsoleCluster, time: number): Array<[string, string]> {
  const status = cluster.status;
  const outages = cluster.outageCount === 0 ? 'no outages' : `${cluster.outageCount} outage${cluster.outageCount === 1 ? '' : 's'}`;
  let state: string;
  if (status === null) state = 'not started';
  else if (status.state === 'up') state = `up (${outages}${cluster.outageCount > 0 ? `, back for ${formatDuration(time - status.at)}` : ''}), reconnects by itself`;
  else state = `DOWN for ${formatDuration(time - status.at)}: ${status.error?.message ?? 'unreachable'}; reconnecting`;
  const nodes = cluster.nodes();
  const clients = nodes.reduce((sum, node) => sum + node.clients, 0);
  return [
    ['adapter', `${cluster.kind} ${state}`],
    ['node', cluster.node],
    ['nodes', `${nodes.length} (${clients} client${clients === 1 ? '' : 's'} in the cluster)`],
  ];
}

/**
 * The cluster-wide client table: id, node (`*` marks this one), address, connected for, rooms.
 * @param clients what `fetchClients()` returned
 * @param self this node's id
 */
export function clusterClientsTable(clients: readonly ConsoleClusterClient[], self: string, time: number, style: Styler): string[] {
  const rows = clients.map((client) => [
    client.id,
    client.node === self ? `${client.node} *` : client.node,
    client.address,
    formatDuration(time - client.connectedAt),
    client.rooms.length === 0 ? '-' : client.rooms.join(','),
  ]);
  return formatTable([{ header: 'ID' }, { header: 'NODE' }, { header: 'ADDRESS' }, { header: 'CONNECTED' }, { header: 'ROOMS' }], rows, { style });
}
