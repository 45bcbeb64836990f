import { Client, Server, createEncryptKeys } from '../lib/index.js';

// The server's identity: an RSA key pair. Clients need only its fingerprint.
const keys = await createEncryptKeys({ bits: 2048 });
const server = new Server({ port: 0, encryption: { keys } });
server.bindAction('whisper', (text: string) => `heard: ${text}`);
await server.start();
const { port } = server.address();

// Pinned: the client checks the server's key before it sends anything, the token included.
const client = new Client({ port, encryption: { serverFingerprint: keys.fingerprint } });
await client.start();
console.log(`client: ${await client.request('whisper', 'only we can read this')}`);
console.log(`security: ${client.connection?.security}, server key pinned: ${client.connection?.peerFingerprint === keys.fingerprint}`);

// A client that pins another key is refused before a byte of pnetwork is written.
const stranger = await createEncryptKeys({ bits: 2048 });
const wrong = new Client({ port, reconnect: false, encryption: { serverFingerprint: stranger.fingerprint } });
await wrong.start().catch((err: { code?: string }) => console.log(`wrong pin: ${err.code}`));

await client.stop();
await server.stop();
console.log('stopped');
