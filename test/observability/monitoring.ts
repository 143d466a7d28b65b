/**
 * The monitoring component's files, read for the tests: the rule file, the
 * dashboard, and what the tests take from them (rules, panel queries, the
 * metric selectors inside an expression).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** deploy/kubernetes/components/monitoring, with a trailing slash. */
export const COMPONENT_DIR = fileURLToPath(
	new URL("../../deploy/kubernetes/components/monitoring/", import.meta.url),
);
export const RULES_PATH = `${COMPONENT_DIR}rules.yaml`;
export const RULE_TESTS_PATH = `${COMPONENT_DIR}rules.test.yaml`;
export const DASHBOARD_PATH = `${COMPONENT_DIR}dashboard.json`;

/** One rule of a Prometheus rule file: a recording rule or an alert. */
export interface Rule {
	readonly record?: string;
	readonly alert?: string;
	readonly expr: string;
	readonly for?: string;
	readonly labels?: Readonly<Record<string, string>>;
	readonly annotations?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
	readonly name: string;
	readonly rules: readonly Rule[];
}

/** The groups of rules.yaml. */
export function loadRuleGroups(): RuleGroup[] {
	return (parse(readFileSync(RULES_PATH, "utf8")) as { groups: RuleGroup[] })
		.groups;
}

/** Every rule of rules.yaml, in file order. */
export function loadRules(): Rule[] {
	return loadRuleGroups().flatMap((group) => group.rules);
}

/** The part of a Grafana dashboard the tests read. */
export interface DashboardJson {
	readonly uid: string;
	readonly title: string;
	readonly panels: readonly PanelJson[];
	readonly templating: { readonly list: readonly VariableJson[] };
}

export interface PanelJson {
	readonly id: number;
	readonly type: string;
	readonly title: string;
	readonly gridPos: { x: number; y: number; w: number; h: number };
	readonly datasource?: unknown;
	readonly targets?: readonly { refId: string; expr: string }[];
	readonly panels?: readonly PanelJson[];
}

interface VariableJson {
	readonly name: string;
	readonly type: string;
	readonly query?: unknown;
	readonly datasource?: unknown;
	readonly allValue?: string;
}

export function loadDashboardText(): string {
	return readFileSync(DASHBOARD_PATH, "utf8");
}

export function loadDashboard(): DashboardJson {
	return JSON.parse(loadDashboardText()) as DashboardJson;
}

/** A panel query: where it is, and its PromQL. */
export interface PanelQuery {
	readonly panel: string;
	readonly refId: string;
	readonly expr: string;
}

/** Every query of every panel, rows' nested panels included. */
export function panelQueries(dashboard: DashboardJson): PanelQuery[] {
	const panels = dashboard.panels.flatMap((panel) => [
		panel,
		...(panel.panels ?? []),
	]);
	return panels.flatMap((panel) =>
		(panel.targets ?? []).map((target) => ({
			panel: panel.title,
			refId: target.refId,
			expr: target.expr,
		})),
	);
}

/** Grafana's built-in variables that a panel query may use. */
export const GRAFANA_BUILTINS = ["__rate_interval", "__interval", "__range"];

/** The names of the `$name` and `${name}` variables that `text` uses. */
export function variablesIn(text: string): string[] {
	return [...text.matchAll(/\$(?:\{(\w+)\}|(\w+))/g)].map(
		(match) => match[1] ?? match[2] ?? "",
	);
}

/** Replaces `$name` and `${name}` with `values[name]`; throws on a variable it has no value for. */
export function substituteVariables(
	text: string,
	values: Readonly<Record<string, string>>,
): string {
	return text.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_, braced, bare) => {
		const name = (braced ?? bare) as string;
		const value = values[name];
		if (value === undefined) throw new Error(`no value for $${name}`);
		return value;
	});
}

const PROMQL_KEYWORDS = new Set([
	"and",
	"or",
	"unless",
	"by",
	"without",
	"on",
	"ignoring",
	"bool",
	"offset",
	"group_left",
	"group_right",
]);

/**
 * The vector selectors in a PromQL expression (`metric{matchers}` or a bare
 * metric name), as written. Good enough for the rules and panels here: it
 * drops grouping clauses, range durations and function names, and assumes no
 * `}` inside a label value.
 */
export function selectorsIn(expr: string): string[] {
	const stripped = expr
		.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, " ")
		.replace(/\[[^\]]*\]/g, " ");
	const selectors: string[] = [];
	for (const match of stripped.matchAll(
		/([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?(\s*\()?/g,
	)) {
		const [, name = "", matchers = "", call] = match;
		if (call !== undefined || PROMQL_KEYWORDS.has(name)) continue;
		selectors.push(`${name}${matchers}`);
	}
	return [...new Set(selectors)];
}
