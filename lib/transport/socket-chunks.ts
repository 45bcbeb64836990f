/**
 * The one place where socket events become an Observable.
 * @module
 */
import type { Socket } from 'node:net';
import { Observable } from 'rxjs';

/**
 * The chunks a socket receives. Completes when the socket closes (after 'end' or a destroy) and errors
 * when the socket reports an error. Unsubscribing removes every listener it added.
 * @param counters when given, each chunk's length is added to its `bytesIn`
 */
export function socketChunks(socket: Socket, counters?: { bytesIn: number }): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) => {
    const onData = counters
      ? (chunk: Buffer): void => {
          counters.bytesIn += chunk.length;
          subscriber.next(chunk);
        }
      : (chunk: Buffer): void => subscriber.next(chunk);
    const onError = (err: Error): void => subscriber.error(err);
    const onClose = (): void => subscriber.complete();
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    return () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
  });
}
