import { expect } from 'chai';
import type { Command } from '../../lib/cli/commands/command.js';
import { createCompleter } from '../../lib/cli/completer.js';

const command = (name: string, extra: Partial<Command> = {}): Command => ({ name, usage: name, summary: '', run: () => undefined, ...extra });

describe('completer', () => {
  const commands = new Map(
    [
      command('help', { completion: ['command'] }),
      command('status'),
      command('send', { completion: ['client', 'action'] }),
      command('log', { completion: [['on', 'off'], 'action'], variadic: true }),
    ].map((c) => [c.name, c]),
  );
  const complete = createCompleter({ commands: () => commands, actions: () => ['echo', 'chat', 'echo'], clients: () => ['a1b2c3d4', 'ffff0000'] });

  it('completes command names', () => {
    expect(complete('s')).to.deep.equal([['send', 'status'], 's']);
    expect(complete('')).to.deep.equal([['help', 'log', 'send', 'status'], '']);
    expect(complete('x')).to.deep.equal([[], 'x']);
  });

  it('completes each argument by its kind', () => {
    expect(complete('send a')).to.deep.equal([['a1b2c3d4'], 'a']);
    expect(complete('send a1b2c3d4 e')).to.deep.equal([['echo'], 'e']);
    expect(complete('send a1b2c3d4 echo {')).to.deep.equal([[], '{']);
    expect(complete('help st')).to.deep.equal([['status'], 'st']);
  });

  it('completes fixed words and repeats a variadic kind', () => {
    expect(complete('log o')).to.deep.equal([['off', 'on'], 'o']);
    expect(complete('log on ')).to.deep.equal([['chat', 'echo'], '']);
    expect(complete('log on chat e')).to.deep.equal([['echo'], 'e']);
  });

  it('offers nothing for commands without arguments or unknown commands', () => {
    expect(complete('status x')).to.deep.equal([[], 'x']);
    expect(complete('nope x')).to.deep.equal([[], 'x']);
  });
});
