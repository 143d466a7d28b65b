import { Registry } from "prom-client";
import t from "tap";
import { createMetrics, DROPPED_DEFAULT_METRICS } from "../src/metrics.ts";

t.test(
	"prom-client's _total gauges are dropped; their per-type twins stay",
	async (t) => {
		const { registry } = createMetrics(new Registry());
		const text = await registry.metrics();
		for (const name of DROPPED_DEFAULT_METRICS) {
			t.notMatch(text, new RegExp(`^${name}\\b`, "m"), `${name} is gone`);
			const twin = name.replace(/_total$/, "");
			t.ok(registry.getSingleMetric(twin), `${twin} is still registered`);
		}
		// The test runner itself holds handles, so the per-type series has values.
		t.match(text, /^nodejs_active_handles\{type="[^"]+"\} [1-9]/m);
		t.match(
			text,
			/^process_cpu_user_seconds_total /m,
			"the other defaults stay",
		);
	},
);

t.test(
	"sherpany_readiness_check reports each check as 1 (ok) or 0",
	async (t) => {
		let checks: Record<string, string> | undefined;
		const { registry } = createMetrics(new Registry(), {
			readiness: async () => checks,
		});
		t.notMatch(
			await registry.metrics(),
			/^sherpany_readiness_check\{/m,
			"no series before there is a database",
		);
		checks = { database: "ok", schema: "ok" };
		let text = await registry.metrics();
		t.match(text, /^sherpany_readiness_check\{check="database"\} 1$/m);
		t.match(text, /^sherpany_readiness_check\{check="schema"\} 1$/m);
		checks = { database: "ok", schema: "pending migrations: 0001" };
		text = await registry.metrics();
		t.match(text, /^sherpany_readiness_check\{check="database"\} 1$/m);
		t.match(text, /^sherpany_readiness_check\{check="schema"\} 0$/m);
		checks = { database: "unreachable (ECONNREFUSED)" };
		text = await registry.metrics();
		t.match(text, /^sherpany_readiness_check\{check="database"\} 0$/m);
		t.match(text, /^sherpany_readiness_check\{check="schema"\} 0$/m);
	},
);
