import { expect } from 'chai';
import { reportIfUnhandled } from '../lib/unhandled-failure.js';
import { deferred, flushMicrotasks } from './helpers/wait.js';

describe('reportIfUnhandled', () => {
  const twoTurns = async () => {
    await flushMicrotasks();
    await flushMicrotasks();
  };

  it('reports a rejection that nobody handles, once, without an unhandled rejection', async () => {
    const reported: unknown[] = [];
    const failure = new Error('lost');
    void reportIfUnhandled(Promise.reject(failure), { reportUnhandled: (error) => reported.push(error) });
    await twoTurns();
    expect(reported).to.deep.equal([failure]);
  });

  it('reports nothing when the caller awaits, catches or chains the promise', async () => {
    const reported: unknown[] = [];
    const report = { reportUnhandled: (error: unknown) => reported.push(error) };
    const awaited = reportIfUnhandled(Promise.reject(new Error('a')), report);
    const caught = reportIfUnhandled(Promise.reject(new Error('b')), report);
    const chained = reportIfUnhandled(Promise.reject(new Error('c')), report);
    caught.catch(() => undefined);
    chained.then(undefined, () => undefined);
    expect(await awaited.catch((e: Error) => e.message)).to.equal('a');
    await twoTurns();
    expect(reported).to.deep.equal([]);
  });

  it('counts a handler attached after a later rejection, and within the turn of an early one', async () => {
    const reported: unknown[] = [];
    const later = deferred();
    const watched = reportIfUnhandled(later.promise, { reportUnhandled: (error) => reported.push(error) });
    await flushMicrotasks();
    watched.catch(() => undefined);
    later.reject(new Error('late'));
    const early = reportIfUnhandled(Promise.reject(new Error('early')), { reportUnhandled: (error) => reported.push(error) });
    await Promise.resolve();
    early.catch(() => undefined);
    await twoTurns();
    expect(reported).to.deep.equal([]);
  });

  it('settles like its source', async () => {
    expect(await reportIfUnhandled(Promise.resolve(5), { reportUnhandled: () => undefined })).to.equal(5);
    const derived = reportIfUnhandled(Promise.resolve(1), { reportUnhandled: () => undefined }).then((n) => n + 1);
    expect(await derived).to.equal(2);
  });
});
