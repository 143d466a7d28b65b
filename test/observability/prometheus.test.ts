/**
 * The dashboard and the rules against a real Prometheus: it scrapes a running
 * `sherpany serve` (on a throwaway PostgreSQL) every second while a short
 * load runs and evaluates rules.yaml; then every rule expression and every
 * dashboard query is evaluated through the HTTP API, and `promtool check
 * metrics` lints a live scrape.
 */
import { spawn } from "node:child_process";
import t from "tap";
import { migrateAndSeed } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";
import {
	type PrometheusServer,
	skipWithoutTools,
	startPrometheus,
} from "../helpers/prometheus.ts";
import { freePort, startServe } from "../helpers/serve.ts";
import { runLoad } from "./load.ts";
import {
	loadDashboard,
	loadRules,
	panelQueries,
	RULES_PATH,
	selectorsIn,
	substituteVariables,
} from "./monitoring.ts";

const skip = skipWithoutTools("prometheus", "promtool");

/**
 * Series only a Kubernetes cluster has (kube-state-metrics). The alerts on
 * them are tested by `promtool test rules` only (rules.test.ts checks that
 * each alert fires there).
 */
const KUBERNETES_ONLY = [
	"kube_pod_container_status_restarts_total",
	"kube_deployment_status_replicas_available",
];

/** Grafana's rate window, for a 1 s scrape interval and a load of seconds. */
const RATE_INTERVAL = "1m";

const JOB = "sherpany-admin";

/**
 * Target labels that the Prometheus Operator adds to a ServiceMonitor's
 * targets in a cluster, set statically here so that the rules' and the
 * dashboard's `namespace` and `pod` selectors meet what they will meet there.
 */
const OPERATOR_LABELS = {
	namespace: "sherpany",
	pod: "sherpany-7c9d5b6f4-x2x8q",
	service: JOB,
	container: "sherpany",
};

t.test(
	"Prometheus evaluates every rule and panel against a live sherpany",
	{ skip },
	async (t) => {
		// What this suite proves does not depend on the PostgreSQL version, which
		// the database suites cover: one server keeps CI's run short.
		const pg = await startPostgres(t, { everyServer: false });
		const url = await pg.createDatabase();
		await migrateAndSeed(t, url);
		const adminPort = await freePort();
		const serve = await startServe(t, {
			DATABASE_URL: url,
			ADMIN_PORT: String(adminPort),
			SHUTDOWN_DELAY_MS: "0",
		});
		const adminUrl = `http://127.0.0.1:${adminPort}`;
		const prometheus = await startPrometheus(t, {
			jobs: [
				{
					job: JOB,
					targets: [`127.0.0.1:${adminPort}`],
					labels: OPERATOR_LABELS,
				},
			],
			ruleFiles: [RULES_PATH],
		});

		const statuses = await runLoad({
			baseUrl: serve.baseUrl,
			durationMs: 6000,
			concurrency: 4,
		});
		const total = [...statuses.values()].reduce((a, b) => a + b, 0);
		t.ok(total > 100, `${total} requests: ${JSON.stringify([...statuses])}`);
		t.notOk(
			[...statuses.keys()].some((status) => status >= 500),
			"no 5xx under load",
		);
		await waitForRules(prometheus);

		t.test("the target is up and its rules evaluate cleanly", async (t) => {
			const up = await prometheus.query(`up{job="${JOB}"}`);
			t.equal(up[0]?.value[1], "1", "target up");
			const { groups } = await prometheus.api<{ groups: RulesGroup[] }>(
				"/api/v1/rules",
			);
			const rules = groups.flatMap((group) => group.rules);
			t.equal(rules.length, loadRules().length, "every rule loaded");
			for (const rule of rules)
				t.equal(rule.health, "ok", `${rule.name}: ${rule.lastError ?? "ok"}`);
		});

		t.test("every recording rule returns series", async (t) => {
			for (const rule of loadRules()) {
				if (rule.record === undefined) continue;
				const recorded = await prometheus.query(rule.record);
				t.ok(recorded.length > 0, `${rule.record} is recorded`);
				t.ok(
					(await prometheus.query(rule.expr)).length > 0,
					`${rule.record}: its expression returns series`,
				);
				// Healthy traffic: the ratios exist and are 0 (no 5xx; /users is fast).
				t.ok(
					recorded.every((sample) => Number(sample.value[1]) < 0.5),
					`${rule.record} = ${recorded.map((s) => s.value[1]).join(", ")}`,
				);
			}
		});

		t.test(
			"every alert is silent, and every series it reads exists",
			async (t) => {
				// An alert expression is a comparison that is empty on a healthy
				// service; what can be checked live is that each series under it is
				// there, so a renamed metric or label cannot leave an alert blind.
				for (const rule of loadRules()) {
					if (rule.alert === undefined) continue;
					t.same(
						await prometheus.query(rule.expr),
						[],
						`${rule.alert} (${rule.labels?.severity}) is silent`,
					);
					for (const selector of selectorsIn(rule.expr)) {
						const name = selector.replace(/\{.*$/, "");
						if (KUBERNETES_ONLY.includes(name)) {
							t.comment(`${rule.alert}: ${name} exists only in Kubernetes`);
							continue;
						}
						t.ok(
							(await prometheus.query(selector)).length > 0,
							`${rule.alert}: ${selector} has series`,
						);
					}
				}
			},
		);

		t.test("the dashboard's variables list the scraped pod", async (t) => {
			const values = await resolveVariables(prometheus);
			t.same(values, {
				namespace: [OPERATOR_LABELS.namespace],
				pod: [OPERATOR_LABELS.pod],
			});
		});

		t.test("every dashboard query returns series", async (t) => {
			const queries = panelQueries(loadDashboard());
			t.ok(queries.length >= 15, `${queries.length} queries`);
			// As Grafana would run them: the first value of each variable, then "All".
			const picked = Object.fromEntries(
				Object.entries(await resolveVariables(prometheus)).map(
					([name, values]) => [name, values[0] ?? ""],
				),
			);
			const all = Object.fromEntries(
				loadDashboard()
					.templating.list.filter((v) => v.type === "query")
					.map((v) => [v.name, v.allValue ?? ".*"]),
			);
			for (const values of [picked, all]) {
				for (const query of queries) {
					const expr = substituteVariables(query.expr, {
						...values,
						__rate_interval: RATE_INTERVAL,
					});
					const result = await prometheus.query(expr);
					t.ok(result.length > 0, `${query.panel} ${query.refId}: ${expr}`);
				}
			}
			// And the load shows: /users had a non-zero request rate.
			const rateQuery =
				queries.find((query) => query.panel === "Request rate by route")
					?.expr ?? "";
			const rate = await prometheus.query(
				substituteVariables(rateQuery, {
					...picked,
					__rate_interval: RATE_INTERVAL,
				}),
			);
			const users = rate.find((sample) => sample.metric.route === "/users");
			t.ok(Number(users?.value[1]) > 0, `/users: ${users?.value[1]} req/s`);
		});

		t.test("promtool check metrics passes on a live scrape", async (t) => {
			const scrape = await (await fetch(`${adminUrl}/metrics`)).text();
			t.match(scrape, /^http_request_duration_seconds_count\{/m);
			const result = await promtoolCheckMetrics(scrape);
			t.equal(result.code, 0, result.output || "no complaints");
			// The lint can fail: prom-client's own _total gauge, put back, is caught.
			const before = await promtoolCheckMetrics(
				`${scrape}# HELP nodejs_active_handles_total Total number of active handles.\n# TYPE nodejs_active_handles_total gauge\nnodejs_active_handles_total 4\n`,
			);
			t.not(before.code, 0, "a _total gauge fails the lint");
			t.match(before.output, /nodejs_active_handles_total non-counter metrics/);
		});
	},
);

/**
 * The values of the dashboard's query variables, in order (a later one may
 * use an earlier one), as Grafana's `label_values(selector, label)` finds
 * them: through Prometheus' label-values API.
 */
async function resolveVariables(
	prometheus: PrometheusServer,
): Promise<Record<string, string[]>> {
	const values: Record<string, string[]> = {};
	for (const variable of loadDashboard().templating.list) {
		if (variable.type !== "query") continue;
		const text = (variable.query as { query: string }).query;
		const match = /^label_values\((.+),\s*(\w+)\)$/.exec(text);
		if (!match)
			throw new Error(`$${variable.name}: not label_values(): ${text}`);
		const [, selector = "", label = ""] = match;
		const picked = Object.fromEntries(
			Object.entries(values).map(([name, list]) => [name, list[0] ?? ""]),
		);
		values[variable.name] = await prometheus.api<string[]>(
			`/api/v1/label/${label}/values`,
			{ "match[]": substituteVariables(selector, picked) },
		);
	}
	return values;
}

interface RulesGroup {
	rules: { name: string; health: string; lastError?: string }[];
}

/** Waits until every rule has been evaluated and every recording rule has recorded series. */
async function waitForRules(prometheus: PrometheusServer): Promise<void> {
	const records = loadRules().flatMap((rule) => rule.record ?? []);
	const deadline = Date.now() + 60_000;
	while (Date.now() < deadline) {
		const { groups } = await prometheus.api<{ groups: RulesGroup[] }>(
			"/api/v1/rules",
		);
		const evaluated = groups
			.flatMap((group) => group.rules)
			.every((rule) => rule.health !== "unknown");
		const recorded = await Promise.all(
			records.map(async (name) => (await prometheus.query(name)).length > 0),
		);
		if (evaluated && recorded.every(Boolean)) return;
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
	throw new Error("the rules were not all evaluated within 60 s");
}

/** Pipes a scrape into `promtool check metrics`. */
function promtoolCheckMetrics(
	scrape: string,
): Promise<{ code: number; output: string }> {
	return new Promise((resolve, reject) => {
		const child = spawn("promtool", ["check", "metrics"], {
			stdio: ["pipe", "pipe", "pipe"],
		});
		let output = "";
		child.stdout.on("data", (chunk) => {
			output += chunk;
		});
		child.stderr.on("data", (chunk) => {
			output += chunk;
		});
		child.once("error", reject);
		child.once("close", (code) => resolve({ code: code ?? -1, output }));
		child.stdin.end(scrape);
	});
}
