// Encryption: a key pair saved and loaded, a TLS 1.3 server that clients pin by its key's fingerprint, and
// sealed packets that a relaying server cannot read.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import {
  Client,
  DecryptionError,
  PinMismatchError,
  Server,
  createEncryptKeys,
  createPacket,
  decryptPacket,
  encryptPacket,
  loadKeys,
  saveKeys,
  type Connection,
  type SealedPacket,
} from '../lib/index.js';

const dir = await mkdtemp(join(tmpdir(), 'pnetwork-keys-'));
try {
  // Keys: made once, saved with the private key readable by its owner only, loaded at start-up.
  const keys = await createEncryptKeys();
  await saveKeys(dir, keys);
  console.log(`fingerprint: ${keys.fingerprint.length} base64 characters`); // share this; never share keys.privateKey
  const loaded = await loadKeys(dir);
  console.log(`loaded the same key: ${loaded.fingerprint === keys.fingerprint}`);

  // TLS 1.3: the server presents a certificate made from its keys; a client pins the key's fingerprint.
  const server = new Server({ port: 0, tls: { keys: loaded } });
  const byName = new Map<string, Connection>();
  server.bindAction('iam', (name: string, _packet, connection) => void byName.set(name, connection));
  // The server relays a sealed note it cannot open: it holds no key for it.
  server.bindAction('relay', async ({ to, sealed }: { to: string; sealed: SealedPacket }) => {
    await byName.get(to)?.sendPacket('relayed', { sealed });
  });
  await server.start();
  const { port } = server.address();

  const alice = new Client({ port, tls: { serverFingerprint: keys.fingerprint } });
  await alice.start();
  console.log(`alice encrypted: ${alice.connection?.encrypted}`);

  // A client that pins another key is stopped before it writes a byte.
  const other = await createEncryptKeys();
  try {
    await new Client({ port, tls: { serverFingerprint: other.fingerprint }, reconnect: false }).start();
  } catch (err) {
    if (err instanceof PinMismatchError) console.log(`wrong pin: ${err.code}`);
  }

  // Sealed packets: Bob has a key pair of his own; Alice knows only his public key.
  const bobKeys = await createEncryptKeys();
  const bob = new Client({ port, tls: { serverFingerprint: keys.fingerprint } });
  const relayed = firstValueFrom(bob.action$('relayed'));
  await bob.start();
  await bob.request('iam', 'bob');

  // Alice, who knows Bob's public key, sends through the server:
  const sealed = encryptPacket(createPacket('note', { text: 'for Bob only' }), bobKeys.publicKey);
  await alice.sendPacket('relay', { to: 'bob', sealed });

  // Bob:
  const { packet } = await relayed;
  const note = decryptPacket((packet.data as { sealed: SealedPacket }).sealed, bobKeys.privateKey);
  console.log(`bob opened: ${note.action} ${JSON.stringify(note.data)}`);

  // Anyone else's key, or a changed byte, fails with DecryptionError.
  try {
    decryptPacket(sealed, other.privateKey);
  } catch (err) {
    if (err instanceof DecryptionError) console.log(`another key: ${err.code}`);
  }

  await alice.stop();
  await bob.stop();
  await server.stop();
} finally {
  await rm(dir, { recursive: true, force: true });
}
