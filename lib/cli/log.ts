/**
 * The console's live packet log: which actions to show ({@link LogFilter}), how a packet prints
 * ({@link formatPacketLine}), and a cap on lines per second ({@link rateLimitLines}) so a flood of
 * packets cannot drown the terminal.
 * @module
 */
import { asyncScheduler, Observable, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { formatClock, formatData } from './format.js';
import type { Styler } from './style.js';

/** Configuration for {@link rateLimitLines}. */
export interface RateLimitConfig {
  /** Most lines passed through per window. */
  maxLines: number;
  /** Window length in ms; a window opens at the first line after a quiet spell. */
  windowMs: number;
  /** Text emitted at a window's end for the lines it held back. @defaultValue `… N more` */
  summary?: (dropped: number) => string;
  /** Scheduler for the window timer. @defaultValue asyncScheduler */
  scheduler?: SchedulerLike;
}

/** Default cap of the console's packet log: 20 lines per second. */
export const LOG_RATE_LIMIT: Readonly<RateLimitConfig> = Object.freeze({ maxLines: 20, windowMs: 1000 });

/**
 * Passes at most `maxLines` lines per window and counts the rest; when the window ends, emits one
 * summary line for them (`… 37 more`). Completion and errors flush a pending summary first.
 *
 * ```
 * maxLines 2, windowMs 5:   a b c d ---- e |   →   a b ----(… 2 more) e (|)
 * ```
 * @param config the cap, the window and the summary text
 * @returns an operator over lines of text
 * @example packets$.pipe(map(format), rateLimitLines({ maxLines: 20, windowMs: 1000 })).subscribe(print)
 */
export function rateLimitLines(config: RateLimitConfig): MonoTypeOperatorFunction<string> {
  const { maxLines, windowMs } = config;
  const summary = config.summary ?? ((dropped: number) => `… ${dropped} more`);
  const scheduler = config.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<string>((subscriber) => {
      // Per-subscription state: each subscriber gets its own window.
      let passed = 0;
      let dropped = 0;
      let timer: Subscription | null = null;
      const flush = (): void => {
        timer?.unsubscribe();
        timer = null;
        const held = dropped;
        passed = 0;
        dropped = 0;
        if (held > 0) subscriber.next(summary(held));
      };
      const subscription = source.subscribe({
        next(line) {
          timer ??= scheduler.schedule(flush, windowMs);
          if (passed < maxLines) {
            passed += 1;
            subscriber.next(line);
          } else {
            dropped += 1;
          }
        },
        error(error: unknown) {
          flush();
          subscriber.error(error);
        },
        complete() {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
      };
    });
}

/**
 * Which actions the log shows. `log on` shows every action; `log on a b` exactly `a` and `b`;
 * `log off` stops the log; `log off a` hides `a` and keeps the rest.
 */
export class LogFilter {
  private enabled = false;
  /** Actions to show; null shows all but {@link LogFilter.excluded}. */
  private included: Set<string> | null = null;
  private readonly excluded = new Set<string>();

  /** Whether any action is being logged. */
  get active(): boolean {
    return this.enabled;
  }

  /**
   * Starts logging every action, or exactly the listed ones.
   * @param actions the actions to show; none shows all
   */
  on(actions: readonly string[] = []): void {
    this.enabled = true;
    this.excluded.clear();
    this.included = actions.length === 0 ? null : new Set(actions);
  }

  /**
   * Stops logging, or stops logging the listed actions only. Logging stops altogether once no listed
   * action is left.
   * @param actions the actions to hide; none stops the log
   */
  off(actions: readonly string[] = []): void {
    if (actions.length === 0) {
      this.enabled = false;
      this.included = null;
      this.excluded.clear();
      return;
    }
    for (const action of actions) {
      if (this.included) this.included.delete(action);
      else this.excluded.add(action);
    }
    if (this.included?.size === 0) this.off();
  }

  /**
   * Whether a packet of this action should be shown.
   * @param action the packet's action
   */
  accepts(action: string): boolean {
    if (!this.enabled) return false;
    return this.included ? this.included.has(action) : !this.excluded.has(action);
  }

  /** A one-line description of the current setting, such as `log is on for chat, move`. */
  describe(): string {
    if (!this.enabled) return 'log is off';
    if (this.included) return `log is on for ${[...this.included].join(', ')}`;
    if (this.excluded.size > 0) return `log is on for every action except ${[...this.excluded].join(', ')}`;
    return 'log is on for every action';
  }
}

/** What the log prints about one packet. Tokens are deliberately not part of it. */
export interface LoggedPacket {
  /** When the packet arrived, in ms since the epoch. */
  time: number;
  /** Who sent it: a short client id and address on the server, `server` on a client. */
  from: string;
  /** The packet's action. */
  action: string;
  /** The packet's data. */
  data: unknown;
}

/**
 * One log line: `12:00:01.234 ← a1b2c3d4 127.0.0.1:54321 chat {"text":"hi"}`. Data is cut to 200
 * characters.
 * @param packet what to print
 * @param style colours the time and action
 */
export function formatPacketLine(packet: LoggedPacket, style: Styler): string {
  const data = formatData(packet.data);
  return `${style('dim', formatClock(packet.time))} ← ${packet.from} ${style('cyan', packet.action)}${data === '' ? '' : ` ${data}`}`;
}
