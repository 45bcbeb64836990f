import { Observable, Subscriber, type OperatorFunction } from 'rxjs';
import { ChannelProtocolError } from '../errors.js';
import { CONTENT_CLIENT_AUTH, CONTENT_DATA, CONTENT_KEY_UPDATE } from '../crypto/channel/constants.js';
import type { RecordOpener } from '../crypto/channel/records.js';

/** Options for {@link openRecords}. */
export interface OpenRecordsConfig {
  /** Makes the opener for one subscription: records are opened in order, with its counter. */
  opener: () => RecordOpener;
  /**
   * The server's check of the client-auth record. When given, the first record must be client auth
   * and goes here (throw to refuse); when absent, a client-auth record is refused.
   */
  clientAuth?: (content: Buffer) => void;
}

/**
 * Opens secure-channel records (each a frame payload) into the application bytes they carry, for the
 * frame decoder after it. A record's content is emitted only after its tag verified.
 *
 * ```
 * records: --r0--r1--r2--|        (r1 a key update)
 * bytes:   --b0------b2--|
 * ```
 *
 * Errors with `DecryptionError` when a record fails authentication (changed, replayed, reordered,
 * reflected), and with `ChannelProtocolError` for a record type out of place; nothing of that record
 * is emitted. Each subscription opens with its own opener.
 * @example
 * chunks$.pipe(decodeFrames({ maxFrameBytes: MAX_RECORD_BYTES }), openRecords({ opener: () => ends.opener }))
 */
export function openRecords(config: OpenRecordsConfig): OperatorFunction<Uint8Array, Buffer> {
  return (source) =>
    new Observable<Buffer>((subscriber) => {
      const upstream = new Subscriber<Uint8Array>(new RecordReader(config.opener(), config.clientAuth ?? null, subscriber));
      subscriber.add(upstream);
      source.subscribe(upstream);
    });
}

/** Opens records into one subscriber; a class, so a connection holds no closures for it. */
class RecordReader {
  private first = true;

  constructor(
    private readonly opener: RecordOpener,
    private readonly clientAuth: ((content: Buffer) => void) | null,
    private readonly subscriber: Subscriber<Buffer>,
  ) {}

  next(body: Uint8Array): void {
    try {
      const { type, content } = this.opener.open(body);
      const first = this.first;
      this.first = false;
      if (first && this.clientAuth) {
        if (type !== CONTENT_CLIENT_AUTH) throw new ChannelProtocolError(`the client's first record has type ${type}, not client auth`);
        this.clientAuth(content);
      } else if (type === CONTENT_DATA) {
        if (content.length > 0) this.subscriber.next(content);
      } else if (type !== CONTENT_KEY_UPDATE) {
        throw new ChannelProtocolError(`unexpected record type ${type}`);
      }
    } catch (err) {
      this.subscriber.error(err);
    }
  }

  error(err: unknown): void {
    this.subscriber.error(err);
  }

  complete(): void {
    this.subscriber.complete();
  }
}
