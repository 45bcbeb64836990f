import { defer, map, type OperatorFunction } from 'rxjs';
import type { RecordSealer } from '../crypto/channel/records.js';

/**
 * Seals each chunk of application bytes (whole frames, such as one tick's batch) as secure-channel
 * data records, ready for the socket: one record per chunk, several when a chunk exceeds 64 KiB.
 *
 * ```
 * bytes:   --b0--b1--|
 * records: --r0--r1--|
 * ```
 *
 * Each subscription seals with its own sealer, counting from its own record counter.
 * @example
 * frames$.pipe(sealRecords(() => ends.sealer)).subscribe((records) => socket.write(records))
 */
export function sealRecords(sealer: () => RecordSealer): OperatorFunction<Uint8Array, Buffer> {
  return (source) =>
    defer(() => {
      const own = sealer();
      return source.pipe(map((bytes) => own.seal(bytes)));
    });
}
