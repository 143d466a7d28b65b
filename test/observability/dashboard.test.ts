/**
 * The Grafana dashboard: valid against Grafana's schema, every data source a
 * variable, every variable defined, and the panels the issue asks for, in
 * RED-then-saturation order.
 */
import t from "tap";

import { checkDashboardSchema } from "./dashboard-schema.ts";
import {
	GRAFANA_BUILTINS,
	loadDashboard,
	loadDashboardText,
	loadRules,
	type PanelJson,
	panelQueries,
	variablesIn,
} from "./monitoring.ts";

const dashboard = loadDashboard();
/** Grafana's reference to the `datasource` variable (a Grafana placeholder, not a JS template). */
const DATASOURCE_VARIABLE = ["$", "{datasource}"].join("");

t.test("the dashboard type-checks as Grafana's Dashboard", async (t) => {
	t.same(checkDashboardSchema(loadDashboardText()), []);
});

t.test("the schema check catches a broken dashboard", async (t) => {
	const wrongVariable = JSON.parse(loadDashboardText());
	wrongVariable.templating.list[0].type = "prometheus";
	t.match(checkDashboardSchema(JSON.stringify(wrongVariable)), [
		/not assignable to type 'VariableType'/,
	]);
	const unknownField = JSON.parse(loadDashboardText());
	unknownField.panels[1].gridpos = unknownField.panels[1].gridPos;
	t.match(checkDashboardSchema(JSON.stringify(unknownField)), [
		/'"gridpos"' does not exist/,
	]);
});

t.test("it has a stable uid and a title", async (t) => {
	t.equal(dashboard.uid, "sherpany-overview");
	t.equal(dashboard.title, "sherpany");
});

t.test(
	"every data source is the datasource variable, never a fixed uid",
	async (t) => {
		const refs = [...collectDatasources(JSON.parse(loadDashboardText()))];
		t.ok(refs.length > 10, `${refs.length} data source references`);
		for (const ref of refs) {
			if ((ref as { type?: unknown }).type === "grafana") {
				// Grafana's own annotations: a built-in, not a data source uid.
				t.same(ref, { type: "grafana", uid: "-- Grafana --" });
				continue;
			}
			t.same(ref, { type: "prometheus", uid: DATASOURCE_VARIABLE });
		}
		const variable = dashboard.templating.list.find(
			(v) => v.name === "datasource",
		);
		t.match(variable, { type: "datasource", query: "prometheus" });
	},
);

t.test("every variable a query uses is defined", async (t) => {
	const defined = new Set([
		...dashboard.templating.list.map((v) => v.name),
		...GRAFANA_BUILTINS,
	]);
	const texts = [
		...panelQueries(dashboard).map((query) => query.expr),
		...dashboard.templating.list.map((v) => JSON.stringify(v.query ?? "")),
	];
	for (const text of texts) {
		for (const name of variablesIn(text)) {
			t.ok(defined.has(name), `$${name} is defined`);
		}
	}
	for (const variable of dashboard.templating.list) {
		if (variable.type === "query")
			t.equal(variable.allValue, ".*", `$${variable.name}: All matches all`);
	}
});

t.test("the recorded series it reads are recorded by the rules", async (t) => {
	const records = new Set(loadRules().flatMap((rule) => rule.record ?? []));
	const used = panelQueries(dashboard).flatMap((query) =>
		[...query.expr.matchAll(/\b([a-z_]+:[a-z_]+:[a-z_0-9]+)\b/g)].map(
			(match) => match[1] ?? "",
		),
	);
	t.ok(used.length >= 2, "the SLO panels use recording rules");
	for (const name of used) t.ok(records.has(name), `${name} is recorded`);
});

t.test(
	"panels: requests (RED) first, then the load limits, the database, the process",
	async (t) => {
		const rows = dashboard.panels
			.filter((panel) => panel.type === "row")
			.map((panel) => panel.title);
		t.same(rows, [
			"Service",
			"Requests: rate, errors, duration",
			"Load limits",
			"Database",
			"Process",
		]);
		const metricsBySection = new Map<string, string>();
		let section = "";
		for (const panel of dashboard.panels) {
			if (panel.type === "row") {
				section = panel.title;
				continue;
			}
			const exprs = (panel.targets ?? [])
				.map((target) => target.expr)
				.join(" ");
			metricsBySection.set(
				section,
				`${metricsBySection.get(section) ?? ""} ${exprs}`,
			);
		}
		const expected: Record<string, RegExp[]> = {
			Service: [/sherpany_build_info/, /\bup\{/],
			"Requests: rate, errors, duration": [
				/sum by \(route\) \(rate\(http_request_duration_seconds_count/,
				/status_code=~"5\.\."/,
				/histogram_quantile\(0\.99, sum by \(le, route\)/,
				/http_requests_in_flight/,
			],
			"Load limits": [
				/sum by \(reason\) \(rate\(sherpany_http_requests_shed_total/,
				/rate\(sherpany_http_responses_stalled_total/,
				/sherpany_exports_running/,
			],
			Database: [
				/sherpany_db_pool_connections/,
				/sherpany_db_query_duration_seconds_bucket/,
			],
			Process: [
				/process_cpu_seconds_total/,
				/process_resident_memory_bytes/,
				/nodejs_eventloop_lag_p99_seconds/,
			],
		};
		for (const [name, patterns] of Object.entries(expected)) {
			for (const pattern of patterns)
				t.match(metricsBySection.get(name), pattern, `${name}: ${pattern}`);
		}
	},
);

t.test("panels have unique ids and do not overlap", async (t) => {
	const panels: PanelJson[] = dashboard.panels.flatMap((panel) => [
		panel,
		...(panel.panels ?? []),
	]);
	t.equal(new Set(panels.map((panel) => panel.id)).size, panels.length);
	for (const [i, a] of panels.entries()) {
		for (const b of panels.slice(i + 1)) {
			const overlap =
				a.gridPos.x < b.gridPos.x + b.gridPos.w &&
				b.gridPos.x < a.gridPos.x + a.gridPos.w &&
				a.gridPos.y < b.gridPos.y + b.gridPos.h &&
				b.gridPos.y < a.gridPos.y + a.gridPos.h;
			t.notOk(overlap, `${a.title} and ${b.title} do not overlap`);
		}
		t.ok(a.gridPos.x + a.gridPos.w <= 24, `${a.title} fits the 24 columns`);
	}
});

/** Every `datasource` value anywhere in the dashboard. */
function* collectDatasources(node: unknown): Generator<unknown> {
	if (Array.isArray(node)) {
		for (const item of node) yield* collectDatasources(item);
	} else if (node !== null && typeof node === "object") {
		for (const [key, value] of Object.entries(node)) {
			if (key === "datasource") yield value;
			else yield* collectDatasources(value);
		}
	}
}
