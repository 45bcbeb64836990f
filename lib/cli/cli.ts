/**
 * The interactive console over a Server or Client: a readline loop with a live prompt, command
 * dispatch, Tab completion, history and one-line errors.
 * @module
 */
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import { asyncScheduler, interval, map, Subscription, type Observable, type SchedulerLike } from 'rxjs';
import { clientCommands } from './commands/client-commands.js';
import type { Command, CommandContext } from './commands/command.js';
import { unknownCommand } from './commands/common.js';
import { serverCommands } from './commands/server-commands.js';
import { createCompleter } from './completer.js';
import { clientLabel, printable } from './format.js';
import { isConsoleClient, type ConsoleClient, type ConsoleServer } from './instance.js';
import type { LoggedPacket } from './log.js';
import { PacketLog, type PacketLogOptions } from './packet-log.js';
import { RateMeter } from './rates.js';
import { colorEnabled, createStyler, type Styler } from './style.js';
import { splitArgs } from './words.js';
import { describeError } from './describe-error.js';

export { describeError } from './describe-error.js';

/** Options for {@link CLI}. */
export interface CLIOptions {
  /** Where commands are read from. @defaultValue process.stdin */
  input?: NodeJS.ReadableStream;
  /** Where the prompt and output go. @defaultValue process.stdout */
  output?: NodeJS.WritableStream;
  /** Whether to treat the streams as a terminal (line editing, Tab, history). @defaultValue output.isTTY */
  terminal?: boolean;
  /** Force colour on or off. @defaultValue on only when output is a TTY and NO_COLOR is unset */
  color?: boolean;
  /** Environment read for NO_COLOR. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Lines of history kept for the arrow keys. @defaultValue 500 */
  historySize?: number;
  /** The live log's rate limit. @defaultValue 20 lines per 1000 ms */
  log?: PacketLogOptions;
  /** How often traffic counters are sampled for the rates in `status`, in ms. @defaultValue 1000 */
  sampleIntervalMs?: number;
  /**
   * The console's clock: rate samples, uptimes and the log's times. A test passes a virtual one.
   * @defaultValue asyncScheduler (wall-clock time)
   */
  scheduler?: SchedulerLike;
}

/** Most action names remembered for completion beyond the bound ones. */
const MAX_REMEMBERED_ACTIONS = 500;

/**
 * A line console for a Server or a Client.
 *
 * The prompt shows the display name and the state (`server (listening)> `, `client (connected)> `).
 * Commands run one at a time in the order typed. Errors print as one line, never a stack. `quit`,
 * Ctrl-C and Ctrl-D (end of input) all leave the same way: the instance is stopped gracefully with
 * `await instance.stop()`, then {@link CLI.processCommand}'s promise resolves.
 * @example
 * const server = new Server({ port: 0 });
 * await server.start();
 * await new CLI(server, 'chat').processCommand(); // resolves once the user quits
 */
export class CLI {
  /** The name shown in the prompt. */
  readonly displayName: string;
  private readonly input: NodeJS.ReadableStream;
  private readonly output: NodeJS.WritableStream;
  private readonly terminal: boolean;
  private readonly style: Styler;
  private readonly commands: ReadonlyMap<string, Command>;
  private readonly meter = new RateMeter();
  private readonly log: PacketLog;
  private readonly seenActions = new Set<string>();
  private readonly subscriptions = new Subscription();
  private readonly context: CommandContext;
  private readonly clock: SchedulerLike;
  private rl: Interface | null = null;
  private done: Promise<void> | null = null;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private closing = false;
  /** Set by `quit` and Ctrl-C: commands typed but not yet started are dropped. Ctrl-D lets them run. */
  private dropQueued = false;
  private stopped = false;
  /** Whether the cursor sits at the start of a line (false right after a prompt is written). */
  private atLineStart = true;
  /** What Ctrl-C does while a command that runs until stopped (a stream) is running. */
  private interrupt: (() => void) | null = null;
  /** Wakes a shutdown that waits for the commands typed before end of input: quit or a signal came. */
  private quitNow: () => void = () => undefined;
  private readonly quitting = new Promise<void>((resolve) => (this.quitNow = resolve));

  /**
   * @param instance a started Server or Client
   * @param displayName the name in the prompt @defaultValue `'server'` or `'client'`
   * @param options streams, terminal mode, colour and limits
   */
  constructor(
    private readonly instance: ConsoleServer | ConsoleClient,
    displayName?: string,
    private readonly options: CLIOptions = {},
  ) {
    const client = isConsoleClient(instance);
    this.clock = options.scheduler ?? asyncScheduler;
    this.displayName = displayName ?? (client ? 'client' : 'server');
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.terminal = options.terminal ?? (this.output as { isTTY?: boolean }).isTTY === true;
    this.style = createStyler(options.color ?? colorEnabled(this.output, options.env));
    const print = (line: string): void => this.print(line);
    this.log = new PacketLog(this.incoming(), print, this.style, options.log);
    const remember = (action: string): void => this.remember(action);
    const list = client
      ? clientCommands({ client: instance, meter: this.meter, log: this.log, remember })
      : serverCommands({ server: instance, meter: this.meter, log: this.log, remember, state: () => this.state() });
    this.commands = new Map(list.map((command) => [command.name, command]));
    this.context = {
      print: (lines) => this.print(lines),
      style: this.style,
      commands: this.commands,
      quit: () => this.quit(),
      now: () => this.clock.now(),
      onInterrupt: (cancel) => {
        this.interrupt = cancel;
        return () => {
          if (this.interrupt === cancel) this.interrupt = null;
        };
      },
    };
  }

  /** The prompt as shown now, colour included. */
  get prompt(): string {
    const state = this.state();
    const colour = state === 'listening' || state === 'connected' ? 'green' : state === 'connecting' || state === 'reconnecting' ? 'yellow' : 'red';
    return `${this.style('bold', this.displayName)} (${this.style(colour, state)})> `;
  }

  /**
   * Starts the console and resolves when the user quits and the instance has stopped. Calling it
   * again returns the same promise.
   * @returns resolves after `instance.stop()`; rejects only if stopping fails
   */
  processCommand(): Promise<void> {
    this.done ??= new Promise<void>((resolve, reject) => {
      const rl = createInterface({
        input: this.input,
        output: this.output,
        terminal: this.terminal,
        completer: createCompleter({
          commands: () => this.commands,
          actions: () => [...this.instance.boundActions().keys(), ...this.seenActions],
          clients: () => (isConsoleClient(this.instance) ? [] : [...this.instance.clients.values()].map(clientLabel)),
        }),
        historySize: this.options.historySize ?? 500,
        removeHistoryDuplicates: true,
        prompt: this.prompt,
      });
      this.rl = rl;
      rl.on('line', (line) => this.enqueue(line));
      // Ctrl-C quits at once instead of killing the process, so the instance still stops gracefully;
      // while a stream runs, it cancels the stream instead.
      rl.on('SIGINT', () => (this.interrupt ? this.interrupt() : this.quit()));
      // Output gone (EPIPE: `pnetwork serve | head`): nobody can read the console, so leave it.
      const onOutputError = (): void => this.quit();
      this.output.on('error', onOutputError);
      rl.on('close', () =>
        this.shutdown()
          .finally(() => this.output.off('error', onOutputError))
          .then(resolve, reject),
      );
      this.watch();
      this.print(`${this.displayName}: type 'help' for commands, 'quit' or Ctrl-D to leave`);
      this.showPrompt();
    });
    return this.done;
  }

  /**
   * Ends the console as `quit` would. Resolves when the instance has stopped (at once if the console
   * never started).
   */
  close(): Promise<void> {
    if (this.done === null) return Promise.resolve();
    this.quit();
    return this.done;
  }

  /**
   * Runs one command line as if it had been typed, printing its output or its error.
   * @param line a command line, such as `send a1b2 chat {"text":"hi"}`
   */
  async execute(line: string): Promise<void> {
    const { words, rest } = splitArgs(line, 1);
    const name = words[0]?.toLowerCase();
    if (name === undefined) return;
    try {
      const command = this.commands.get(name);
      if (command === undefined) throw unknownCommand(name, this.commands.keys());
      await command.run(rest, this.context);
    } catch (error) {
      this.print(this.style('red', describeError(error)));
    }
  }

  private enqueue(line: string): void {
    this.pending += 1;
    this.atLineStart = true;
    this.queue = this.queue
      .then(() => (this.dropQueued ? undefined : this.execute(line)))
      .then(() => {
        this.pending -= 1;
        this.showPrompt();
      });
  }

  private quit(): void {
    this.dropQueued = true;
    // A command that runs until stopped (a stream) ends now, even after end of input.
    this.interrupt?.();
    this.quitNow();
    this.rl?.close();
  }

  private showPrompt(): void {
    if (this.rl === null || this.closing || this.pending > 0) return;
    this.rl.setPrompt(this.prompt);
    this.rl.prompt(true);
    this.atLineStart = false;
  }

  private print(text: string | readonly string[]): void {
    const lines = typeof text === 'string' ? [text] : text;
    if (lines.length === 0) return;
    const body = `${lines.join('\n')}\n`;
    const idle = this.rl !== null && !this.closing && this.pending === 0 && !this.atLineStart;
    if (idle && this.terminal) {
      // Output arriving while the user types: clear the prompt line, print, then redraw prompt and input.
      clearLine(this.output, 0);
      cursorTo(this.output, 0);
      this.output.write(body);
      this.rl!.prompt(true);
      return;
    }
    this.output.write(idle ? `\n${body}` : body);
    this.atLineStart = true;
  }

  private state(): string {
    if (isConsoleClient(this.instance)) return this.instance.state;
    const listening = this.instance.listening ?? this.instance.stats().startedAt !== null;
    return this.stopped || !listening ? 'stopped' : 'listening';
  }

  private remember(action: string): void {
    if (this.seenActions.size < MAX_REMEMBERED_ACTIONS) this.seenActions.add(action);
  }

  /** Incoming packets as the log prints them: who sent them, never their token. */
  private incoming(): Observable<LoggedPacket> {
    const client = isConsoleClient(this.instance);
    return this.instance.packets$.pipe(
      map(({ packet, connection }) => ({
        time: this.clock.now(),
        // A peer chooses its action names and address text: terminal controls in them are replaced.
        from: client ? 'server' : `${clientLabel(connection)} ${printable(connection.remoteAddress)}`,
        action: printable(packet.action, 256),
        data: packet.data,
      })),
    );
  }

  /** Subscriptions that live as long as the console: rate samples, seen actions, client state. */
  private watch(): void {
    const sample = (): void => this.meter.sample(this.instance.stats(), this.clock.now());
    sample();
    this.subscriptions.add(interval(this.options.sampleIntervalMs ?? 1000, this.clock).subscribe(sample));
    this.subscriptions.add(this.instance.packets$.subscribe(({ packet }) => this.remember(packet.action)));
    if (isConsoleClient(this.instance)) {
      const lost = this.instance.disconnect$;
      // Why the connection was lost (a kick's reason, say), in the server's words.
      if (lost) this.subscriptions.add(lost.subscribe((reason) => this.print(this.style('yellow', `disconnected: ${printable(reason, 200)}`))));
      let previous: string | null = null;
      this.subscriptions.add(
        this.instance.state$.subscribe((state) => {
          if (previous !== null && state !== previous) this.print(`connection ${state}`);
          previous = state;
          this.rl?.setPrompt(this.prompt);
        }),
      );
    }
  }

  private async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // End of input (Ctrl-D, or a piped script running out) lets the commands already typed finish,
    // unless quit or a signal comes meanwhile; quit and Ctrl-C stop at once (a command in flight then
    // fails with "connection closed").
    if (!this.dropQueued) await Promise.race([this.queue, this.quitting]);
    this.subscriptions.unsubscribe();
    this.log.dispose();
    if (!this.atLineStart) this.output.write('\n');
    this.atLineStart = true;
    let failure: unknown = null;
    try {
      await this.instance.stop();
    } catch (error) {
      failure = error;
    }
    this.stopped = true;
    await this.queue;
    if (failure !== null) throw failure;
    this.output.write(`${this.displayName} stopped\n`);
  }
}
