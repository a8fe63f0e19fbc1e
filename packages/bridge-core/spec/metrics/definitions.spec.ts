import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import type { parser as PromqlParser } from '@prometheus-io/lezer-promql' with { 'resolution-mode': 'import' };
import { describeMetrics, renderMetricsDoc, seriesNames } from '../../src/metrics/definitions';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics';
import { asNumber, asObject, asObjects, asString, at, parseJson } from '@causeway/testing';

const ROOT = join(__dirname, '..', '..', '..', '..');

// The PromQL grammar is published as an ES module only: its type imported as one, the value loaded below.
let promql: typeof PromqlParser;
before(async () => {
  ({ parser: promql } = await import('@prometheus-io/lezer-promql'));
});

/** Every series name the bridge exposes: core definitions plus prom-client's process metrics. */
async function knownSeries(): Promise<Set<string>> {
  const names = new Set(describeMetrics().flatMap(seriesNames));
  const r = new Registry();
  collectDefaultMetrics({ register: r });
  for (const m of await r.getMetricsAsJSON()) {
    const type = String(m.type);
    names.add(m.name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s);
  }
  // Connectors' own series (`causeway_<protocol>_*`), as each bridge documents them in docs/<bridge>-metrics.md.
  for (const f of readdirSync(join(ROOT, 'docs')).filter((n) => /^[a-z]+-metrics\.md$/.test(n))) {
    for (const m of readFileSync(join(ROOT, 'docs', f), 'utf8').matchAll(/^\| `(causeway_[a-z0-9_]+)` \|(?: (\w+) \|)?/gm)) {
      names.add(m[1]);
      if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1] + s);
    }
  }
  return names;
}

/** Metric names a PromQL expression reads (string literals, e.g. label values, left out). */
function metricNames(expr: string): string[] {
  return expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/\b(?:causeway|process|nodejs)_[a-zA-Z0-9_]+\b/g) ?? [];
}

/** Where PromQL's own grammar (the Lezer one Prometheus's UI uses) finds a syntax error, or undefined. */
function promqlError(expr: string): string | undefined {
  let at: number | undefined;
  promql.parse(expr).iterate({
    enter: (n) => {
      if (n.type.isError && at === undefined) at = n.from;
    },
  });
  return at === undefined ? undefined : `syntax error at ${at}: …${expr.slice(Math.max(0, at - 20), at + 20)}…`;
}

function exprsOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) exprsOf(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'expr' && typeof v === 'string') out.push(v);
      else exprsOf(v, out);
    }
  }
  return out;
}

describe('metrics documentation and dashboard', () => {
  it('docs/metrics.md is up to date with the definitions (regenerate with src/metrics/print-docs.ts)', () => {
    const onDisk = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
    assert.equal(
      onDisk,
      renderMetricsDoc(),
      'docs/metrics.md is stale: run `npx tsx packages/bridge-core/src/metrics/print-docs.ts docs/metrics.md`',
    );
  });

  it('describeMetrics() matches what the registry exposes (names, types, labels, help)', async () => {
    const metrics = new BridgeMetrics({ protocol: 'test', processMetrics: false });
    const exposed = new Map((await metrics.registry.getMetricsAsJSON()).map((m) => [m.name, m]));
    const described = describeMetrics();
    assert.deepEqual(new Set(exposed.keys()), new Set(described.map((d) => d.name)));
    for (const d of described) {
      const m = exposed.get(d.name)!;
      assert.equal(String(m.type), d.type, d.name);
      assert.equal(m.help, d.help, d.name);
      assert.ok(d.name.startsWith('causeway_'), d.name);
      assert.equal(d.labels[0], 'protocol', d.name);
      if (d.type === 'counter') assert.match(d.name, /_total$/);
      if (d.type === 'histogram') assert.match(d.name, /_seconds$/);
      const labelNames = (metrics.registry.getSingleMetric(d.name) as unknown as { labelNames: string[] }).labelNames;
      assert.deepEqual(['protocol', ...labelNames], d.labels, d.name);
    }
  });

  describe('config/grafana-dashboard.json', () => {
    const dash = asObject(parseJson(readFileSync(join(ROOT, 'config', 'grafana-dashboard.json'), 'utf8')), 'grafana-dashboard.json');

    it('is an importable dashboard with a Prometheus input and a protocol variable', () => {
      const schemaVersion = asNumber(dash.schemaVersion, 'schemaVersion');
      assert.ok(schemaVersion >= 36 && schemaVersion <= 41, String(schemaVersion));
      assert.ok(dash.uid && dash.title);
      assert.deepEqual(
        asObjects(dash.__inputs, '__inputs').map((i) => [i.name, i.pluginId]),
        [['DS_PROMETHEUS', 'prometheus']],
      );
      const protocol = asObjects(at(dash, 'templating', 'list'), 'templating.list').find((v) => v.name === 'protocol');
      assert.ok(protocol, 'protocol template variable');
      assert.match(asString(protocol.definition, 'protocol.definition'), /label_values\(causeway_build_info, protocol\)/);
      const ids = new Set<number>();
      for (const p of asObjects(dash.panels, 'panels')) {
        const title = asString(p.title, 'panel title');
        const id = asNumber(p.id, `${title}: id`);
        assert.ok(!ids.has(id), `duplicate panel id ${id}`);
        ids.add(id);
        const grid = asObject(p.gridPos, `${title}: gridPos`);
        const w = asNumber(grid.w, `${title}: gridPos.w`);
        assert.ok(w > 0 && asNumber(grid.x, `${title}: gridPos.x`) + w <= 24, title);
        if (p.type === 'row') continue;
        assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, title);
        const targets = asObjects(p.targets, `${title}: targets`);
        assert.ok(targets.length > 0, title);
        for (const t of targets) {
          const expr = asString(t.expr, `${title}: expr`);
          assert.match(expr, /protocol=~"\$protocol"/, `${title}: ${expr}`);
        }
      }
    });

    it('references only metrics that exist', async () => {
      const known = await knownSeries();
      const exprs = exprsOf(dash.panels);
      assert.ok(exprs.length >= 20, `${exprs.length} queries`);
      const used = new Set<string>();
      for (const e of exprs) {
        const names = metricNames(e);
        assert.ok(names.length > 0, `no metric in ${e}`);
        for (const n of names) {
          assert.ok(known.has(n), `unknown metric ${n} in ${e}`);
          used.add(n.replace(/_(bucket|sum|count)$/, ''));
        }
      }
      // the panels the dashboard promises
      for (const n of [
        'causeway_messages_relayed_total',
        'causeway_relay_latency_seconds',
        'causeway_homeserver_requests_total',
        'causeway_homeserver_request_duration_seconds',
        'causeway_transaction_processing_seconds',
        'causeway_delivery_queue_events',
        'causeway_state_cache_hits_total',
        'causeway_state_cache_misses_total',
        'causeway_state_cache_requests_in_flight',
        'causeway_portals',
        'causeway_ghosts',
        'causeway_remote_connections',
        'causeway_active_users',
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_p99_seconds',
      ])
        assert.ok(used.has(n), `dashboard does not show ${n}`);
    });

    it("has queries PromQL can parse (with Grafana's variables filled in)", () => {
      for (const e of exprsOf(dash.panels)) {
        assert.equal(promqlError(e.replace(/\$protocol/g, 'irc').replace(/\$__rate_interval/g, '5m')), undefined, e);
      }
    });
  });

  describe('config/prometheus-alerts.yaml', () => {
    const rules = (
      parseYaml(readFileSync(join(ROOT, 'config', 'prometheus-alerts.yaml'), 'utf8')) as {
        groups: Array<{
          name: string;
          rules: Array<{ alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }>;
        }>;
      }
    ).groups.flatMap((g) => g.rules);

    it('the syntax check finds a broken expression (so a passing file means something)', () => {
      assert.ok(promqlError('sum by (protocol) (rate(causeway_transactions_total[5m])'));
      assert.ok(promqlError('causeway_ghosts >'));
      assert.equal(promqlError('sum by (protocol) (causeway_ghosts) > 0'), undefined);
    });

    it('is a rules file Prometheus loads: named alerts, valid PromQL on metrics that exist, severity and text', async () => {
      const known = await knownSeries();
      assert.ok(rules.length >= 8, `${rules.length} rules`);
      const names = new Set<string>();
      for (const r of rules) {
        assert.match(r.alert, /^Causeway[A-Z][A-Za-z]+$/);
        assert.ok(!names.has(r.alert), `duplicate alert ${r.alert}`);
        names.add(r.alert);
        assert.equal(promqlError(r.expr), undefined, `${r.alert}: ${r.expr}`);
        const used = metricNames(r.expr);
        assert.ok(used.length > 0, `${r.alert} reads no metric`);
        for (const n of used) assert.ok(known.has(n), `${r.alert}: unknown metric ${n}`);
        if (r.for !== undefined) assert.match(r.for, /^\d+[smh]$/, r.alert);
        assert.ok(['critical', 'warning', 'info'].includes(r.labels?.severity), `${r.alert}: severity ${r.labels?.severity}`);
        assert.ok(r.annotations?.summary && r.annotations?.description, `${r.alert}: summary and description`);
        // Per bridge: the alert keeps the protocol label, so one Prometheus can watch several bridges.
        if (r.alert !== 'CausewayBridgeDown') assert.match(r.expr, /by \([^)]*protocol/, r.alert);
      }
    });
  });
});
