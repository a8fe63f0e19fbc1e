import { strict as assert } from 'node:assert';
import { type Command, type CommandContext, CommandUsageError } from '../../src/connector/commands';
import { CommandRouter } from '../../src/commands/command-router';
import { CapturingLogger, message } from './helpers';

const noop = async (): Promise<void> => undefined;

function cmd(partial: Partial<Command> & { name: string }): Command {
  return { summary: `Summary of ${partial.name}`, run: noop, ...partial };
}

describe('commands: CommandRouter', () => {
  let log: CapturingLogger;
  let router: CommandRouter;
  let calls: CommandContext[];

  beforeEach(() => {
    log = new CapturingLogger();
    router = new CommandRouter({ logger: log });
    calls = [];
  });

  const recorder = async (ctx: CommandContext): Promise<void> => {
    calls.push(ctx);
  };

  describe('register', () => {
    it('rejects duplicates', () => {
      router.register(cmd({ name: 'food' }));
      assert.throws(() => router.register(cmd({ name: 'food' })), /already registered/);
    });
    it('rejects invalid and reserved names', () => {
      for (const name of ['', 'Food', '1abc', 'has space', '!x', 'a'.repeat(33), 'é']) {
        assert.throws(() => router.register(cmd({ name })), /Invalid command name/, name);
      }
      assert.throws(() => router.register(cmd({ name: 'help' })), /reserved/);
      router.register(cmd({ name: 'set-nick_2' }));
    });
    it('rejects a rest argument that is not last', () => {
      assert.throws(() => router.register(cmd({ name: 'x', args: [{ name: 'a', rest: true }, { name: 'b' }] })), /last argument/);
      router.register(cmd({ name: 'y', args: [{ name: 'a' }, { name: 'b', rest: true }] }));
    });
    it('rejects a required argument after an optional one', () => {
      assert.throws(() => router.register(cmd({ name: 'x', args: [{ name: 'a', optional: true }, { name: 'b' }] })), /after an optional/);
      router.register(cmd({ name: 'y', args: [{ name: 'a' }, { name: 'b', optional: true }, { name: 'c', optional: true, rest: true }] }));
    });
    it('rejects invalid or duplicate argument names', () => {
      assert.throws(() => router.register(cmd({ name: 'x', args: [{ name: 'a b' }] })), /invalid argument name/);
      assert.throws(() => router.register(cmd({ name: 'x', args: [{ name: 'a' }, { name: 'a' }] })), /duplicate argument/);
    });
    it('rejects an invalid prefix', () => {
      assert.throws(() => new CommandRouter({ prefix: '' }));
      assert.throws(() => new CommandRouter({ prefix: '! ' }));
    });
  });

  describe('parsing', () => {
    beforeEach(() => {
      router.register(
        cmd({
          name: 'msg',
          args: [{ name: 'target' }, { name: 'text', rest: true }],
          run: recorder,
        }),
      );
      router.register(
        cmd({
          name: 'pair',
          args: [{ name: 'a' }, { name: 'b', optional: true }],
          run: recorder,
        }),
      );
    });

    it('passes quoted arguments and the raw rest of the line', async () => {
      const m = message(`!msg "#my channel" hello  "world" it's`);
      assert.equal(await router.handle(m), 'ran');
      assert.deepEqual(calls[0].args, { target: '#my channel', text: `hello  "world" it's` });
      assert.equal(calls[0].sender, '@alice:example.org');
      assert.equal(calls[0].roomId, '!admin:example.org');
      assert.equal(m.replies.length, 0);
    });

    it('leaves missing optional arguments undefined', async () => {
      await router.handle(message('!pair one'));
      assert.deepEqual(calls[0].args, { a: 'one', b: undefined });
      await router.handle(message(`!pair 'x y' "z"`));
      assert.deepEqual(calls[1].args, { a: 'x y', b: 'z' });
    });

    it('only parses the first line', async () => {
      const m = message('!pair one\n!pair two three\nmore');
      await router.handle(m);
      assert.equal(calls.length, 1);
      assert.deepEqual(calls[0].args, { a: 'one', b: undefined });
      await router.handle(message('!msg bob hi there\nsecond line'));
      assert.equal(calls[1].args.text, 'hi there');
    });

    it('is case-insensitive in the command name and tolerates surrounding blanks', async () => {
      assert.equal(await router.handle(message('  !PAIR x  ')), 'ran');
      assert.deepEqual(calls[0].args, { a: 'x', b: undefined });
    });

    it('parses a command typed in a reply', async () => {
      assert.equal(await router.handle(message('> <@bot:example.org> Welcome\n\n!pair x')), 'ran');
    });

    it('supports a custom prefix', async () => {
      const r = new CommandRouter({ prefix: '.', logger: log });
      r.register(cmd({ name: 'pair', args: [{ name: 'a' }], run: recorder }));
      assert.equal(await r.handle(message('.pair x')), 'ran');
      const m = message('!pair x');
      assert.equal(await r.handle(m), 'hint');
      assert.match(m.replies[0].text, /\.help/);
      const u = message('.pair');
      await r.handle(u);
      assert.match(u.replies[0].text, /Usage: \.pair <a>/);
    });

    it('runs argument parsers and uses their normalised value', async () => {
      router.register(
        cmd({
          name: 'port',
          args: [
            {
              name: 'n',
              parse: (raw) => {
                if (!/^\d+$/.test(raw)) throw new CommandUsageError(`Not a number: ${raw}`);
                return String(Number(raw));
              },
            },
          ],
          run: recorder,
        }),
      );
      await router.handle(message('!port 0080'));
      assert.equal(calls[0].args.n, '80');
      const m = message('!port abc');
      assert.equal(await router.handle(m), 'usage');
      assert.equal(m.replies[0].text, 'Not a number: abc\nUsage: !port <n>');
    });
  });

  describe('hints and unknown commands', () => {
    beforeEach(() => {
      router.register(cmd({ name: 'food' }));
      router.register(cmd({ name: 'secretstuff', permission: 'admin' }));
    });

    it('hints at help for plain text', async () => {
      const m = message('hello bot');
      assert.equal(await router.handle(m), 'hint');
      assert.equal(m.replies.length, 1);
      assert.match(m.replies[0].text, /!help/);
    });

    it('can be told not to hint', async () => {
      const r = new CommandRouter({ logger: log, hintOnPlainText: false });
      const m = message('hello bot');
      assert.equal(await r.handle(m), 'ignored');
      assert.equal(m.replies.length, 0);
    });

    it('ignores empty messages', async () => {
      const m = message('   \n!food');
      assert.equal(await router.handle(m), 'ignored');
      assert.equal(m.replies.length, 0);
    });

    it('suggests the closest command', async () => {
      const m = message('!foo bar');
      assert.equal(await router.handle(m), 'unknown');
      assert.equal(m.replies[0].text, 'Unknown command `!foo`. Did you mean `!food`? Send `!help` for the list of commands.');
      assert.equal(
        m.replies[0].html,
        'Unknown command <code>!foo</code>. Did you mean <code>!food</code>? Send <code>!help</code> for the list of commands.',
      );
    });

    it('suggests help itself', async () => {
      const m = message('!hlep');
      await router.handle(m);
      assert.match(m.replies[0].text, /Did you mean `!help`\?/);
    });

    it('gives no suggestion when nothing is close', async () => {
      const m = message('!zzzzzz');
      await router.handle(m);
      assert.equal(m.replies[0].text, 'Unknown command `!zzzzzz`. Send `!help` for the list of commands.');
    });

    it('never suggests admin commands to non-admins', async () => {
      const m = message('!secretstuf');
      await router.handle(m);
      assert.doesNotMatch(m.replies[0].text, /secretstuff/);
      const a = message('!secretstuf', { isAdmin: true });
      await router.handle(a);
      assert.match(a.replies[0].text, /Did you mean `!secretstuff`/);
    });

    it('escapes the typed name in HTML', async () => {
      const m = message('!<img/src=x/onerror=alert(1)>');
      await router.handle(m);
      assert.ok(m.replies[0].html);
      assert.doesNotMatch(m.replies[0].html, /<img/);
      assert.match(m.replies[0].html, /&lt;img\/src=x\/onerror=alert\(1\)&gt;/);
    });

    it('truncates very long unknown names', async () => {
      const m = message('!' + 'a'.repeat(500));
      await router.handle(m);
      assert.ok(m.replies[0].text.length < 200);
    });
  });

  describe('usage errors', () => {
    beforeEach(() => {
      router.register(
        cmd({
          name: 'login',
          args: [{ name: 'user' }, { name: 'server', optional: true }, { name: 'options', rest: true, optional: true }],
          run: recorder,
        }),
      );
      router.register(cmd({ name: 'ping', run: recorder }));
      router.register(
        cmd({
          name: 'say',
          args: [{ name: 'text', rest: true }],
          run: async () => {
            throw new CommandUsageError('Nothing to say about <that>.');
          },
        }),
      );
    });

    it('reports a missing argument with the usage line', async () => {
      const m = message('!login');
      assert.equal(await router.handle(m), 'usage');
      assert.equal(m.replies[0].text, 'Missing argument <user>.\nUsage: !login <user> [server] [options...]');
      assert.equal(m.replies[0].html, 'Missing argument &lt;user&gt;.<br>Usage: <code>!login &lt;user&gt; [server] [options...]</code>');
      assert.equal(calls.length, 0);
    });

    it('reports too many arguments', async () => {
      const m = message('!ping now');
      assert.equal(await router.handle(m), 'usage');
      assert.equal(m.replies[0].text, '!ping takes no arguments.\nUsage: !ping');
      const r = new CommandRouter({ logger: log });
      r.register(cmd({ name: 'two', args: [{ name: 'a' }, { name: 'b' }] }));
      const t = message('!two 1 2 3');
      await r.handle(t);
      assert.equal(t.replies[0].text, 'Too many arguments.\nUsage: !two <a> <b>');
    });

    it('reports unterminated quotes', async () => {
      const m = message('!login "alice');
      assert.equal(await router.handle(m), 'usage');
      assert.match(m.replies[0].text, /^Unterminated double quote\.\nUsage: !login/);
    });

    it('shows a CommandUsageError thrown by the handler with the usage line, escaped', async () => {
      const m = message('!say something');
      assert.equal(await router.handle(m), 'usage');
      assert.equal(m.replies[0].text, 'Nothing to say about <that>.\nUsage: !say <text...>');
      assert.match(m.replies[0].html!, /Nothing to say about &lt;that&gt;\./);
    });

    it('exposes usage lines', () => {
      assert.equal(router.usage('login'), '!login <user> [server] [options...]');
      assert.equal(router.usage('help'), '!help [command]');
      assert.equal(router.usage('nope'), undefined);
      assert.deepEqual(router.names(), ['login', 'ping', 'say']);
    });
  });

  describe('admin-only commands', () => {
    beforeEach(() => {
      router.register(cmd({ name: 'shutdown', permission: 'admin', summary: 'Stop the bridge', run: recorder }));
      router.register(cmd({ name: 'status', summary: 'Show status', run: recorder }));
    });

    it('refuses non-admins', async () => {
      const m = message('!shutdown');
      assert.equal(await router.handle(m), 'forbidden');
      assert.equal(m.replies[0].text, 'This command is only available to bridge admins.');
      assert.equal(calls.length, 0);
    });

    it('runs for admins and tells the handler', async () => {
      assert.equal(await router.handle(message('!shutdown', { isAdmin: true })), 'ran');
      assert.equal(calls[0].isAdmin, true);
    });

    it('hides them from help for non-admins', async () => {
      const m = message('!help');
      await router.handle(m);
      assert.doesNotMatch(m.replies[0].text, /shutdown/);
      assert.match(m.replies[0].text, /!status — Show status/);
      const h = message('!help shutdown');
      assert.equal(await router.handle(h), 'unknown');
      assert.doesNotMatch(h.replies[0].text, /Stop the bridge/);
    });

    it('lists them for admins', async () => {
      const m = message('!help', { isAdmin: true });
      await router.handle(m);
      assert.match(m.replies[0].text, /!shutdown — Stop the bridge/);
      const h = message('!help shutdown', { isAdmin: true });
      await router.handle(h);
      assert.match(h.replies[0].text, /Only bridge admins/);
    });
  });

  describe('!help', () => {
    beforeEach(() => {
      router.register(cmd({ name: 'zeta', summary: 'Last <one>' }));
      router.register(
        cmd({
          name: 'alpha',
          summary: 'First & foremost',
          help: 'Longer text\nover two lines <b>.',
          args: [
            { name: 'user', description: 'Who to <greet>' },
            { name: 'message', optional: true, rest: true, description: 'What to say' },
          ],
        }),
      );
    });

    it('lists commands sorted, with summaries, escaped in HTML', async () => {
      const m = message('!help');
      assert.equal(await router.handle(m), 'help');
      assert.equal(
        m.replies[0].text,
        [
          'Available commands:',
          '!alpha <user> [message...] — First & foremost',
          '!help [command] — Show this list, or help for one command.',
          '!zeta — Last <one>',
        ].join('\n'),
      );
      const html = m.replies[0].html!;
      assert.match(html, /<li><code>!alpha &lt;user&gt; \[message\.\.\.\]<\/code> — First &amp; foremost<\/li>/);
      assert.match(html, /Last &lt;one&gt;/);
      assert.ok(html.indexOf('!alpha') < html.indexOf('!help') && html.indexOf('!help') < html.indexOf('!zeta'));
    });

    it('explains one command', async () => {
      for (const body of ['!help alpha', '!help !alpha', '!HELP Alpha']) {
        const m = message(body);
        assert.equal(await router.handle(m), 'help', body);
        const text = m.replies[0].text;
        assert.match(text, /^!alpha <user> \[message\.\.\.\]\nFirst & foremost\n/);
        assert.match(text, /Longer text\nover two lines <b>\./);
        assert.match(text, /user — Who to <greet>/);
        assert.match(text, /message \(optional, rest of the line\) — What to say/);
        const html = m.replies[0].html!;
        assert.match(html, /Longer text<br>over two lines &lt;b&gt;\./);
        assert.match(html, /Who to &lt;greet&gt;/);
        assert.doesNotMatch(html, /<b>|<greet>/);
      }
    });

    it('explains help itself', async () => {
      const m = message('!help help');
      assert.equal(await router.handle(m), 'help');
      assert.match(m.replies[0].text, /^!help \[command\]/);
    });

    it('answers an unknown topic with a suggestion, escaped', async () => {
      const m = message('!help alhpa');
      assert.equal(await router.handle(m), 'unknown');
      assert.match(m.replies[0].text, /Unknown command `!alhpa`\. Did you mean `!alpha`\?/);
      const x = message('!help "<script>"');
      await router.handle(x);
      assert.match(x.replies[0].html!, /&lt;script&gt;/);
      assert.doesNotMatch(x.replies[0].html!, /<script>/);
    });

    it('refuses extra arguments', async () => {
      const m = message('!help alpha zeta');
      assert.equal(await router.handle(m), 'usage');
      assert.match(m.replies[0].text, /Usage: !help \[command\]/);
    });
  });

  describe('failures and secrets', () => {
    const PASSWORD = 'hunter2-very-secret';

    beforeEach(() => {
      router.register(
        cmd({
          name: 'login',
          args: [{ name: 'user' }, { name: 'password', secret: true, rest: true }],
          run: async (ctx) => {
            throw new Error(`login failed for ${ctx.args.user} with ${ctx.args.password}`);
          },
        }),
      );
      router.register(
        cmd({
          name: 'token',
          args: [
            {
              name: 'value',
              secret: true,
              parse: (raw) => {
                throw new TypeError(`cannot parse ${raw}`);
              },
            },
          ],
        }),
      );
      router.register(cmd({ name: 'ok', args: [{ name: 'pw', secret: true }], run: recorder }));
    });

    it('answers a generic message and logs sender and command, masking secrets', async () => {
      const m = message(`!login bob ${PASSWORD}`, { sender: '@bob:example.org' });
      assert.equal(await router.handle(m), 'failed');
      assert.equal(m.replies[0].text, 'Something went wrong running `!login`. The bridge administrators can find the details in the log.');
      assert.doesNotMatch(m.replies[0].text, /hunter2/);
      const errors = log.lines.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1);
      assert.equal(errors[0].meta.sender, '@bob:example.org');
      assert.equal(errors[0].meta.command, 'login');
      assert.deepEqual(errors[0].meta.args, { user: 'bob', password: '<secret>' });
      assert.match(JSON.stringify(errors[0].meta.error), /login failed for bob with <secret>/);
      assert.ok(!log.text().includes('hunter2'), log.text());
    });

    it('masks secrets when a parser fails unexpectedly', async () => {
      const m = message(`!token ${PASSWORD}`);
      assert.equal(await router.handle(m), 'failed');
      assert.match(m.replies[0].text, /Something went wrong running `!token`/);
      assert.ok(log.lines.some((l) => l.level === 'error'));
      assert.ok(!log.text().includes('hunter2'), log.text());
    });

    it('masks secrets in the debug log of a successful run', async () => {
      await router.handle(message(`!ok "${PASSWORD}"`));
      assert.equal(calls[0].args.pw, PASSWORD);
      assert.ok(log.lines.some((l) => l.msg === 'Running command'));
      assert.ok(!log.text().includes('hunter2'), log.text());
    });

    it('reports a command with a secret argument through onSecret, whatever then happens to it, and no other', async () => {
      router.register(cmd({ name: 'plain', args: [{ name: 'x', rest: true, optional: true }] }));
      router.register(cmd({ name: 'adminpass', permission: 'admin', args: [{ name: 'pw', secret: true }] }));
      const cases: Array<[string, boolean]> = [
        [`!ok ${PASSWORD}`, true],
        [`!LOGIN bob ${PASSWORD}`, true],
        ['!ok', true],
        [`!ok a b`, true],
        [`!adminpass ${PASSWORD}`, true],
        [`!plain ${PASSWORD}`, false],
        ['!help ok', false],
        [`!nope ${PASSWORD}`, false],
        ['hello', false],
      ];
      for (const [body, secret] of cases) {
        let reported = 0;
        const m = message(body);
        m.onSecret = () => {
          reported++;
        };
        await router.handle(m);
        assert.equal(reported, secret ? 1 : 0, body);
      }
    });

    it('survives a reply function that throws', async () => {
      const m = message('!nope');
      m.reply = async () => {
        throw new Error('M_FORBIDDEN');
      };
      assert.equal(await router.handle(m), 'unknown');
      assert.ok(log.lines.some((l) => l.level === 'warn' && /Could not reply/.test(l.msg)));
    });

    it('handler replies pass through unchanged', async () => {
      router.register(
        cmd({ name: 'echo', args: [{ name: 't', rest: true }], run: async (ctx) => ctx.reply(`you said ${ctx.args.t}`, '<b>ok</b>') }),
      );
      const m = message('!echo hi');
      await router.handle(m);
      assert.deepEqual(m.replies, [{ text: 'you said hi', html: '<b>ok</b>' }]);
    });
  });
});
