/**
 * The seed-style handler base class.
 * @module
 */
import type { Packet } from './protocol/packet.js';
import type { HandlerResult } from './types.js';

/**
 * Extend it and implement `run` to handle an action, then pass an instance to `bindAction`.
 * `run`'s return value (or the first value of its Promise or Observable) is the reply to a request.
 * @example
 * class TestAction extends Bind {
 *   run(data: { text: string }) { console.log(data.text); }
 * }
 * server.bindAction('test', new TestAction());
 */
export abstract class Bind<D = any, R = unknown, C = any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * Handles one packet.
   * @param data the packet's data
   * @param packet the whole packet
   * @param connection the connection it arrived on
   */
  abstract run(data: D, packet: Packet<string, D>, connection: C): HandlerResult<R>;
}
