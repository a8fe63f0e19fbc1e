/**
 * Slack activity metrics: Web API calls and errors by method and token kind, rate-limit waits,
 * event-to-Matrix latency (`causeway_slack_*`), and the core's active users and rooms per network,
 * where each Slack workspace is a network.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSlackBridge, linkedRoom, messages, ghostId, eventually, type SlackBridge } from './support';

/** The value of the first series of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('slack-bridge: metrics', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let roomId: string;
  const scrape = () => b.fx.bridge.metrics.metrics();

  before(async () => {
    b = await startSlackBridge('socket', { emulator: { rateLimits: false } });
    roomId = await linkedRoom(b);
  });
  after(async () => {
    await b?.stop();
  });

  it('counts Web API calls and errors by method, and rate-limit waits', async () => {
    b.slack.faults.rateLimit('chat.postMessage', { times: 1, retryAfter: 1 });
    await b.matrixAlice.sendMessage(roomId, 'counted');
    await eventually(() => b.slack.messages(b.general).find((x) => x.text === 'counted'), 'delivered after the wait');
    const text = await scrape();
    assert.ok((sample(text, 'causeway_slack_api_calls_total', { workspace: 'acme', method: 'chat.postMessage', token: 'bot' }) ?? 0) >= 2);
    assert.equal(
      sample(text, 'causeway_slack_api_errors_total', { workspace: 'acme', method: 'chat.postMessage', error: 'ratelimited' }),
      1,
    );
    assert.equal(sample(text, 'causeway_slack_rate_limit_waits_total', { workspace: 'acme', method: 'chat.postMessage' }), 1);
    assert.equal(sample(text, 'causeway_slack_rate_limit_wait_seconds_count', { workspace: 'acme', method: 'chat.postMessage' }), 1);
    assert.ok((sample(text, 'causeway_slack_api_calls_total', { workspace: 'acme', method: 'auth.test', token: 'bot' }) ?? 0) >= 1);

    b.slack.faults.error('reactions.add', 'invalid_name', { times: 1 });
    const eventId = messages(b, roomId, b.matrixAlice.userId).find((e) => e.content.body === 'counted')!.event_id;
    await b.matrixAlice.sendEvent(roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key: '👍' } });
    await eventually(
      async () => sample(await scrape(), 'causeway_slack_api_errors_total', { method: 'reactions.add', error: 'invalid_name' }) === 1,
      'the refused call counted',
    );
  });

  it("counts the SDK's own rate-limit waits on lookups", async () => {
    const carol = b.slack.createUser(b.team, { name: 'carol', realName: 'Carol Jones' });
    b.slack.faults.rateLimit('users.info', { times: 1, retryAfter: 1 });
    carol.join(b.general);
    carol.post(b.general, 'looked up');
    await eventually(() => messages(b, roomId, ghostId(carol.id)).find((e) => e.content.body === 'looked up'), 'in the room');
    const text = await scrape();
    assert.equal(sample(text, 'causeway_slack_rate_limit_waits_total', { workspace: 'acme', method: 'users.info' }), 1);
    assert.equal(
      sample(text, 'causeway_slack_api_errors_total', { method: 'users.info', error: 'ratelimited' }),
      undefined,
      'waited, not failed',
    );
  });

  it('measures Slack events to Matrix, and the workspace shows in the active users and rooms per network', async () => {
    b.alice.post(b.general, 'timed');
    await eventually(() => messages(b, roomId, ghostId(b.alice.id)).find((e) => e.content.body === 'timed'), 'in the room');
    await b.connector().idle();
    const text = await scrape();
    assert.ok((sample(text, 'causeway_slack_event_to_matrix_seconds_count', { workspace: 'acme', event: 'message' }) ?? 0) >= 1);
    const sum = sample(text, 'causeway_slack_event_to_matrix_seconds_sum', { workspace: 'acme', event: 'message' }) ?? -1;
    assert.ok(sum >= 0 && sum < 30, `latency sum ${sum}`);
    for (const window of ['1h', '1d', '7d', '30d']) {
      assert.ok((sample(text, 'causeway_active_users_by_network', { network: 'acme', window, kind: 'remote' }) ?? 0) >= 1, window);
      assert.ok((sample(text, 'causeway_active_users_by_network', { network: 'acme', window, kind: 'matrix' }) ?? 0) >= 1, window);
      assert.ok((sample(text, 'causeway_active_rooms_by_network', { network: 'acme', window }) ?? 0) >= 1, window);
    }
  });

  it('docs/slack-metrics.md lists exactly the causeway_slack_* metrics, with their types and labels', async () => {
    const page = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'slack-metrics.md'), 'utf8');
    const documented = new Map(
      [...page.matchAll(/^\| `(causeway_slack_[a-z0-9_]+)` \| (\w+) \| ([^|]*) \|/gm)].map((m) => [
        m[1],
        { type: m[2], labels: [...m[3].matchAll(/`(\w+)`/g)].map((x) => x[1]) },
      ]),
    );
    const registered = (await b.fx.bridge.metrics.registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('causeway_slack_'));
    assert.deepEqual(new Set(registered.map((m) => m.name)), new Set(documented.keys()));
    for (const m of registered) {
      const d = documented.get(m.name)!;
      assert.equal(d.type, String(m.type), m.name);
      const labelNames = (b.fx.bridge.metrics.registry.getSingleMetric(m.name) as unknown as { labelNames: string[] }).labelNames;
      assert.deepEqual(labelNames, d.labels, m.name); // `protocol` is the registry's default label
    }
  });
});
