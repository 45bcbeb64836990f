// Drives a CLI through PassThrough streams: type a line, wait (with a deadline) for the next prompt,
// read what the command printed.
import { PassThrough } from 'node:stream';
import { CLI, type CLIOptions } from '../../lib/cli/index.js';
import type { ConsoleClient, ConsoleServer } from '../../lib/cli/instance.js';
import { until, withDeadline } from '../helpers/wait.js';

/** Deadline for every wait on console output. */
export const WAIT_MS = 10_000;

const PROMPT = /[^\n]*\((listening|stopped|connected|connecting|reconnecting|closed)\)> $/;

export class ConsoleHarness {
  readonly input = new PassThrough();
  readonly output = new PassThrough();
  readonly cli: CLI;
  readonly done: Promise<void>;
  text = '';

  constructor(instance: ConsoleServer | ConsoleClient, displayName?: string, options: CLIOptions = {}) {
    this.output.setEncoding('utf8');
    this.output.on('data', (chunk: string) => (this.text += chunk));
    this.cli = new CLI(instance, displayName, { input: this.input, output: this.output, color: false, ...options });
    this.done = this.cli.processCommand();
  }

  /** Waits for the first prompt. */
  ready(): Promise<void> {
    return until(() => PROMPT.test(this.text), WAIT_MS, 'the first prompt');
  }

  /** Types a line and resolves with what was printed before the next prompt. */
  async run(line: string): Promise<string> {
    const from = this.text.length;
    this.input.write(`${line}\n`);
    await until(() => PROMPT.test(this.text.slice(from)), WAIT_MS, `the prompt after '${line}'`);
    return this.text.slice(from).replace(PROMPT, '');
  }

  /** Resolves once the output (from `from` on) matches `pattern`. */
  async waitFor(pattern: RegExp | string, from = 0): Promise<string> {
    const matches = (): boolean => (typeof pattern === 'string' ? this.text.includes(pattern, from) : pattern.test(this.text.slice(from)));
    await until(matches, WAIT_MS, `output matching ${String(pattern)}`);
    return this.text.slice(from);
  }

  /** Ends input (Ctrl-D) and waits for the console to finish. */
  async end(): Promise<void> {
    this.input.end();
    await withDeadline(this.done, WAIT_MS, 'the console to finish');
  }
}
