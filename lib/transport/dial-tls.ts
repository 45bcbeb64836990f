/**
 * Dialling a TLS 1.3 server, with the server's key pinned, its chain checked by CAs, or both.
 *
 * A pin is checked the way node:tls checks any certificate, never with `rejectUnauthorized: false`
 * (with that, Node skips `checkServerIdentity` and the pin with it): the server's certificate is passed
 * as `ca`, so OpenSSL verifies the chain, and `checkServerIdentity` compares SHA-256(SPKI) with the pin.
 * The client knows only the fingerprint, so the certificate comes from {@link pinnedCertificates}; when
 * none is remembered, or the server's certificate changed, the first handshake fails Node's chain check.
 * Its certificate is read as the handshake completes, before Node drops the socket, and if its key is
 * the pinned one it is remembered and the connection made again with it as `ca`. A key that is not the
 * pinned one aborts with PinMismatchError. In every case the socket is handed over only after a check
 * that passed, so no byte of pnetwork is written to a server that failed one.
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { SchedulerLike } from 'rxjs';
import { fingerprint } from '../crypto/keys.js';
import { PinMismatchError, TlsHandshakeError } from '../errors.js';
import { pinnedCertificates, type PinnedCertificate, type PinnedCertificates } from './pinned-certificates.js';
import { TLS_VERSION, tlsFailureHint, type ResolvedClientTls } from './tls-options.js';
import { netTransport, type Transport } from './transport.js';

/** How long dialling may take, on which clock. */
export interface DialDeadline {
  readonly timeoutMs: number;
  readonly scheduler: SchedulerLike;
}

/**
 * Dials `host:port` over TLS 1.3 and resolves once the handshake is done and the server passed the
 * checks. `signal` gives the attempt up: the socket is destroyed and the promise rejects with the
 * signal's reason.
 * @throws PinMismatchError when the server's key is not the pinned one
 * @throws TlsHandshakeError when the handshake fails, is not done within the deadline, or is refused
 */
export function dialTls(
  host: string,
  port: number,
  tls: ResolvedClientTls,
  deadline: DialDeadline,
  plain: Transport,
  signal?: AbortSignal,
  known: PinnedCertificates = pinnedCertificates,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const pin = tls.pin;
    // Only a pin without CAs uses remembered certificates; with CAs, they alone vouch for the chain.
    const learns = pin !== null && tls.ca === undefined;
    let settled = false;
    let current: TLSSocket | null = null;
    const finish = (): void => {
      settled = true;
      timer.unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: unknown): void => {
      if (settled) return;
      finish();
      current?.destroy();
      reject(error);
    };
    const onAbort = (): void => fail(signal!.reason);
    // One deadline for every handshake of this dial: a server that accepts TCP but never answers TLS must not hold it.
    const timer = deadline.scheduler.schedule(() => fail(new TlsHandshakeError(`no TLS handshake with ${host}:${port} within ${deadline.timeoutMs} ms`)), deadline.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return onAbort();

    const attempt = (stage: Stage, trusted: PinnedCertificate | undefined): void => {
      const socket = tlsConnect(connectOptions(host, port, tls, trusted, plain));
      current = socket;
      let handshook = false;
      let presented: X509Certificate | undefined;
      // Node emits 'secure' when OpenSSL has finished the handshake and checks the chain in its own
      // 'secure' listener, destroying the socket if it fails; the certificate cannot be read after
      // that. Listening first is how a failed check still tells us which certificate the server has.
      // Without the event, nothing is learned and the dial fails: it can fail closed, never open.
      // getPeerCertificate, not getPeerX509Certificate: in Node 20 the latter, called here, leaves the
      // certificate that Node's own check reads next empty. Read only when learning: it costs.
      if (learns) {
        socket.prependOnceListener('secure', () => {
          handshook = true;
          if (stage === 'learn') presented = parsed(socket.getPeerCertificate());
        });
      }
      socket.once('secureConnect', () => {
        if (settled) return;
        if (socket.getProtocol() !== TLS_VERSION) return fail(new TlsHandshakeError(`server negotiated ${String(socket.getProtocol())}`));
        finish();
        socket.off('error', onError);
        socket.off('close', onClose);
        resolve(socket);
      });
      const onError = (err: Error): void => {
        if (settled || current !== socket) return;
        if (err instanceof PinMismatchError) return fail(err);
        if (stage === 'cached' && handshook) {
          // The remembered certificate no longer fits (renewed, same key or not): learn the new one.
          known.forget(pin!, trusted!);
          socket.destroy();
          return attempt('learn', undefined);
        }
        if (stage === 'learn' && presented !== undefined) {
          // The chain check failed on a completed handshake: the certificate is new to us.
          const actual = fingerprint(presented.publicKey);
          if (actual !== pin) return fail(new PinMismatchError(pin!, actual));
          const learned = known.remember(pin!, presented);
          socket.destroy();
          return attempt('trusted', learned);
        }
        fail(new TlsHandshakeError(`TLS connection to ${host}:${port} failed${tlsFailureHint(err, 'server')}: ${err.message}`, { cause: err }));
      };
      const onClose = (): void => {
        if (current === socket) fail(new TlsHandshakeError(`TLS connection to ${host}:${port} closed during the handshake`));
      };
      socket.on('error', onError);
      socket.once('close', onClose);
    };
    const remembered = learns ? known.get(pin) : undefined;
    attempt(!learns ? 'trusted' : remembered !== undefined ? 'cached' : 'learn', remembered);
  });
}

/**
 * Where a pinned dial stands: `cached` trusts the certificate remembered for the pin, `learn` trusts
 * Node's bundled CAs and reads the certificate if they refuse it, `trusted` trusts the certificate just
 * learned (and any dial with `ca` or without a pin is `trusted` from the start): its failure is final.
 */
type Stage = 'cached' | 'learn' | 'trusted';

/**
 * node:tls options for one handshake. `trusted` is a pinned server's certificate, the only one its chain
 * may end in; undefined means Node's bundled CAs (or `tls.ca`). No `session` is ever passed, so no session
 * is resumed: Node skips `checkServerIdentity` on a resumed session, and the pin with it.
 */
function connectOptions(host: string, port: number, tls: ResolvedClientTls, trusted: PinnedCertificate | undefined, plain: Transport): ConnectionOptions {
  const pin = tls.pin;
  // Without a client certificate, the context (which holds the CA store) is made once per remembered
  // certificate instead of once per connection.
  const context = trusted !== undefined && tls.key === undefined && tls.cert === undefined ? trusted.context() : undefined;
  return {
    ...(context !== undefined ? { secureContext: context } : {}),
    // Over another transport (the in-memory one), TLS runs on the socket it opens.
    ...(plain === netTransport ? { host, port } : { socket: plain.connect({ host, port }) }),
    servername: tls.servername ?? (isIpAddress(host) ? undefined : host),
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    ca: tls.ca ?? (trusted === undefined ? undefined : [trusted.pem]),
    key: tls.key,
    cert: tls.cert,
    rejectUnauthorized: true,
    // With a pin, the key decides, not the names in the certificate.
    ...(pin !== null ? { checkServerIdentity: (_host: string, cert: PeerCertificate) => pinError(pin, cert, trusted) } : {}),
  };
}

/** The certificate node:tls describes, or undefined when it has none. */
function parsed(cert: PeerCertificate | undefined): X509Certificate | undefined {
  if (!cert?.raw) return undefined;
  try {
    return new X509Certificate(cert.raw);
  } catch {
    return undefined;
  }
}

/**
 * checkServerIdentity's answer for a pin: an error unless the certificate's key is the pinned one. The
 * certificate remembered for the pin had its key checked when it was learned, so the same bytes need no
 * second parse.
 */
function pinError(pin: string, cert: PeerCertificate, trusted: PinnedCertificate | undefined): Error | undefined {
  if (trusted !== undefined && cert.raw !== undefined && trusted.der.equals(cert.raw)) return undefined;
  const x509 = parsed(cert);
  const presented = x509 ? fingerprint(x509.publicKey) : 'none';
  return presented === pin ? undefined : new PinMismatchError(pin, presented);
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
