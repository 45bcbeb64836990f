/**
 * The console's live packet log: a {@link LogFilter} over a stream of packets, printed through the
 * rate limiter while it is on.
 * @module
 */
import { filter, map, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { formatPacketLine, LOG_RATE_LIMIT, LogFilter, rateLimitLines, type LoggedPacket } from './log.js';
import type { Styler } from './style.js';

/** Options for {@link PacketLog}. */
export interface PacketLogOptions {
  /** Most lines per window. @defaultValue 20 */
  maxLines?: number;
  /** Window length in ms. @defaultValue 1000 */
  windowMs?: number;
  /** Scheduler for the rate limiter's window. @defaultValue asyncScheduler */
  scheduler?: SchedulerLike;
}

/** Subscribes to incoming packets while logging is on and prints the ones the filter accepts. */
export class PacketLog {
  private readonly filter = new LogFilter();
  private subscription: Subscription | null = null;

  /**
   * @param source$ incoming packets
   * @param print prints one line
   * @param style colours the lines
   * @param options the rate limit
   */
  constructor(
    private readonly source$: Observable<LoggedPacket>,
    private readonly print: (line: string) => void,
    private readonly style: Styler,
    private readonly options: PacketLogOptions = {},
  ) {}

  /**
   * Logs every action, or exactly the listed ones.
   * @param actions actions to show; none shows all
   */
  on(actions: readonly string[] = []): void {
    this.filter.on(actions);
    this.subscription ??= this.source$
      .pipe(
        filter((packet) => this.filter.accepts(packet.action)),
        map((packet) => formatPacketLine(packet, this.style)),
        rateLimitLines({
          maxLines: this.options.maxLines ?? LOG_RATE_LIMIT.maxLines,
          windowMs: this.options.windowMs ?? LOG_RATE_LIMIT.windowMs,
          summary: (dropped) => `… ${dropped} more packet${dropped === 1 ? '' : 's'} not shown`,
          ...(this.options.scheduler ? { scheduler: this.options.scheduler } : {}),
        }),
      )
      .subscribe({ next: (line) => this.print(line), error: () => this.dispose() });
  }

  /**
   * Stops the log, or hides the listed actions.
   * @param actions actions to hide; none stops the log
   */
  off(actions: readonly string[] = []): void {
    this.filter.off(actions);
    if (!this.filter.active) this.dispose();
  }

  /** The current setting in one line. */
  describe(): string {
    return this.filter.describe();
  }

  /** Stops logging and releases the subscription. */
  dispose(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
  }
}
