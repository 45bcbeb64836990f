// A well-behaved client that keeps round-tripping requests while a spec attacks or loads the server
// beside it: the proof that one peer's bad behaviour has no effect on the others.
import { Client, type ClientState, type PnetworkError } from '../../lib/index.js';
import { until, withDeadline } from './wait.js';

/** Upper bound on the round trips one loop makes, so a loop can never run away. */
const MAX_ROUND_TRIPS = 1_000_000;

/** The action a bystander requests; the server under test must answer it with the data it was sent. */
export const ECHO_ACTION = 'echo';

/** A client looping `echo` requests and recording every state change, error and wrong answer. */
export class Bystander {
  /** Round trips that came back with the right answer. */
  completed = 0;
  /** Everything that went wrong: failed requests, wrong answers, errors on the client's error$. */
  readonly failures: string[] = [];
  /** Every state the client went through after it connected. */
  readonly states: ClientState[] = [];
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private token: string | null = null;

  private constructor(readonly client: Client) {}

  /** Connects a client to `port` (its timers on the real clock) and starts watching it. */
  static async connect(port: number): Promise<Bystander> {
    const bystander = new Bystander(new Client({ port, reconnect: false }));
    await withDeadline(bystander.client.start(), 10_000, 'the bystander to connect');
    bystander.token = bystander.client.token;
    bystander.client.state$.subscribe((state) => bystander.states.push(state));
    bystander.client.error$.subscribe((error: PnetworkError) => bystander.failures.push(`error$: ${error.code} ${error.message}`));
    return bystander;
  }

  /** Starts round-tripping, one request at a time, until {@link stop}. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Resolves once `count` more round trips than now have completed; rejects after `ms` or on a failure. */
  async roundTrips(count: number, what: string, ms = 20_000): Promise<void> {
    const target = this.completed + count;
    await until(() => this.completed >= target || this.failures.length > 0, ms, `${count} bystander round trips ${what}`);
    if (this.failures.length > 0) throw new Error(`the bystander failed ${what}: ${this.failures.join('; ')}`);
  }

  /** Stops the loop after the round trip in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /**
   * Why the bystander was affected, or null when it was not: it failed, or its connection changed
   * (a new state after 'connected', a new token).
   */
  harm(): string | null {
    if (this.failures.length > 0) return this.failures.join('; ');
    if (this.states.some((state) => state !== 'connected')) return `states: ${this.states.join(', ')}`;
    if (this.client.token !== this.token) return 'its token changed';
    return null;
  }

  private async run(): Promise<void> {
    for (let i = 0; this.running && i < MAX_ROUND_TRIPS; i++) {
      const sent = { n: i, text: `round trip ${i}` };
      try {
        const answer = (await this.client.request(ECHO_ACTION, sent)) as typeof sent;
        if (answer?.n !== sent.n || answer.text !== sent.text) this.failures.push(`wrong answer ${JSON.stringify(answer)} to ${i}`);
        else this.completed++;
      } catch (err) {
        this.failures.push(`request ${i}: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      // Yield to I/O between round trips, so the loop shares the process with the attack it watches.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
