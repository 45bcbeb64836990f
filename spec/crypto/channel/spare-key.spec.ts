import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ClientKeyExchange, answerClientHello, channelIdentity } from '../../../lib/crypto/channel/exchange.js';
import { decodeServerHello } from '../../../lib/crypto/channel/messages.js';
import { takeEphemeralKey } from '../../../lib/crypto/channel/spare-key.js';

const server = channelIdentity(readFileSync(new URL('../../fixtures/channel/server-key.pem', import.meta.url), 'utf8'));

describe('crypto/channel/spare-key', () => {
  it('never hands out the same key twice, whether taken back to back or after the spare was made', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      seen.add(takeEphemeralKey().publicKey.toString('hex'));
      seen.add(takeEphemeralKey().publicKey.toString('hex'));
      // Lets the spare be made, so the next take returns it.
      await nextTurn();
    }
    expect(seen.size).to.equal(40);
  });

  it('is the key the server answers with when given, and the channel it makes works', () => {
    const ephemeral = takeEphemeralKey();
    const client = new ClientKeyExchange({ random: randomBytes, trustServerKey: () => undefined, rekeyAfterRecords: 1000 });
    const answer = answerClientHello({ random: randomBytes, ephemeral, identity: server, rekeyAfterRecords: 1000 }, client.hello);
    expect(Buffer.from(decodeServerHello(answer.reply).hello.publicKey).equals(ephemeral.publicKey)).to.equal(true);
    const channel = client.receive(answer.reply);
    answer.opener.open(channel.firstRecord.subarray(4));
    expect(answer.opener.open(channel.sealer.seal(Buffer.from('up')).subarray(4)).content.toString()).to.equal('up');
  });
});
