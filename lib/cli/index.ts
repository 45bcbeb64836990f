/**
 * pnetwork coretools: the interactive console for a Server or Client, and the pieces it is built
 * from. Exported as `pnetwork/coretools`.
 * @packageDocumentation
 */
export { CLI, describeError, type CLIOptions } from './cli.js';
export type { ConsoleServer, ConsoleClient, ConsoleConnection, ConsoleEnvelope, ConsolePacket, ConsoleStats, ClientState, SecurityMode } from './instance.js';
export { CommandError, type Command, type CommandContext, type ArgCompletion } from './commands/command.js';
export { serverCommands, findClient, type ServerCommandDeps } from './commands/server-commands.js';
export { clientCommands, type ClientCommandDeps } from './commands/client-commands.js';
export { main, processIo, packageVersion, SUBCOMMANDS } from './main.js';
export { EXIT, UsageError, parseCommandLine, usage, parsePort, parseHostPort, type Subcommand, type SubcommandTable, type OptionSpec, type BinIo, type ParsedArgs, type Invocation } from './args.js';
export { parseJsonArgument, JsonArgumentError } from './json-arg.js';
export { formatTable, formatPairs, type Column, type TableOptions } from './table.js';
export { editDistance, suggest } from './suggest.js';
export { rateLimitLines, formatPacketLine, LogFilter, LOG_RATE_LIMIT, type RateLimitConfig, type LoggedPacket } from './log.js';
export { PacketLog, type PacketLogOptions } from './packet-log.js';
export { RateMeter, type TrafficTotals } from './rates.js';
export { createCompleter, type CompletionSources } from './completer.js';
export { createStyler, colorEnabled, visibleWidth, type Styler, type StyleFormat } from './style.js';
export { clusterPairs, clusterClientsTable, type ConsoleCluster, type ConsoleClusterClient } from './commands/cluster-view.js';
