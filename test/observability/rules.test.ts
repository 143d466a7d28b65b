/**
 * The alert and recording rules: promtool checks and unit-tests them, the
 * PrometheusRule is generated from the rule file, and every alert follows
 * the house conventions and has a runbook section.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t from "tap";
import { parse } from "yaml";
import {
	PROMETHEUS_RULE_FILE,
	renderPrometheusRule,
} from "../../deploy/kubernetes/components/monitoring/render-prometheusrule.ts";
import { coverageEnv, runCommand } from "../helpers/cli.ts";
import { skipWithoutTools } from "../helpers/prometheus.ts";
import {
	COMPONENT_DIR,
	loadRuleGroups,
	loadRules,
	RULE_TESTS_PATH,
	RULES_PATH,
} from "./monitoring.ts";

const run = promisify(execFile);
const NODE = fileURLToPath(
	new URL("../../node_modules/node/bin/node", import.meta.url),
);
const skip = skipWithoutTools("promtool");

t.test("promtool check rules passes", { skip }, async (t) => {
	const { stdout } = await run("promtool", ["check", "rules", RULES_PATH]);
	t.match(stdout, /SUCCESS: \d+ rules found/);
});

t.test("promtool's unit tests of the rules pass", { skip }, async (t) => {
	const { stdout } = await run("promtool", ["test", "rules", RULE_TESTS_PATH], {
		cwd: COMPONENT_DIR,
	});
	t.match(stdout, /SUCCESS/);
});

t.test(
	"promtool test rules fails when an alert breaks",
	{ skip },
	async (t) => {
		// The unit tests can fail: a SherpanyDown that can never fire is caught.
		const broken = readFileSync(RULES_PATH, "utf8").replace(
			'absent(up{job="sherpany-admin"} == 1)',
			'absent(up{job="sherpany-admin"} == 1) and on() vector(0) == 1',
		);
		t.not(broken, readFileSync(RULES_PATH, "utf8"), "the rule was changed");
		const dir = t.testdir({
			"rules.yaml": broken,
			"rules.test.yaml": readFileSync(RULE_TESTS_PATH, "utf8"),
		});
		const failure = await run(
			"promtool",
			["test", "rules", "rules.test.yaml"],
			{
				cwd: dir,
			},
		).then(
			() => ({ code: 0, stdout: "", stderr: "" }),
			(error: { code: number; stdout: string; stderr: string }) => error,
		);
		t.equal(failure.code, 1, "promtool exits 1");
		t.match(failure.stdout + failure.stderr, /alertname: SherpanyDown/);
	},
);

t.test("prometheusrule.yaml is rules.yaml, generated", async (t) => {
	const file = readFileSync(PROMETHEUS_RULE_FILE, "utf8");
	t.equal(
		file,
		renderPrometheusRule(readFileSync(RULES_PATH, "utf8")),
		"run `npm run monitoring:rules` after editing rules.yaml",
	);
	const rule = parse(file) as { kind: string; spec: unknown };
	t.equal(rule.kind, "PrometheusRule");
	t.same(rule.spec, { groups: loadRuleGroups() });
});

t.test("npm run monitoring:rules writes that same file", async (t) => {
	const output = `${t.testdir({})}/prometheusrule.yaml`;
	// The pinned Node 24 runs the TypeScript script, as `npm run` would.
	const result = await runCommand(
		NODE,
		[
			fileURLToPath(
				new URL(
					"../../deploy/kubernetes/components/monitoring/render-prometheusrule.ts",
					import.meta.url,
				),
			),
			output,
		],
		{ ...coverageEnv(), PATH: process.env.PATH ?? "/usr/bin:/bin" },
	);
	t.equal(result.code, 0, result.stderr);
	t.equal(
		readFileSync(output, "utf8"),
		readFileSync(PROMETHEUS_RULE_FILE, "utf8"),
	);
});

t.test("recording rules are named level:metric:operations", async (t) => {
	const records = loadRules().flatMap((rule) => rule.record ?? []);
	t.ok(records.length > 0);
	for (const name of records) {
		t.match(name, /^[a-z_]+:[a-z_]+:[a-z_0-9]+$/, name);
	}
});

t.test("every alert carries what an on-call engineer needs", async (t) => {
	const alerts = loadRules().filter((rule) => rule.alert !== undefined);
	const readme = readFileSync(`${COMPONENT_DIR}README.md`, "utf8");
	const anchors = new Set(
		[...readme.matchAll(/^#+ (.+)$/gm)].map((match) =>
			githubAnchor(match[1] ?? ""),
		),
	);
	for (const rule of alerts) {
		const name = rule.alert ?? "";
		t.match(name, /^Sherpany[A-Z][A-Za-z]+$/, `${name}: CamelCase, prefixed`);
		t.ok(rule.for, `${name}: has a for:`);
		t.match(rule.labels?.severity, /^(critical|warning)$/, `${name}: severity`);
		t.ok(rule.annotations?.summary, `${name}: summary`);
		t.ok(rule.annotations?.description, `${name}: description`);
		const url = rule.annotations?.runbook_url ?? "";
		t.equal(
			url,
			`deploy/kubernetes/components/monitoring/README.md#${name.toLowerCase()}`,
			`${name}: runbook_url is its README section`,
		);
		t.ok(anchors.has(name.toLowerCase()), `${name}: README has its section`);
	}
	t.same(
		[...new Set(alerts.map((rule) => rule.alert))].sort(),
		[
			"SherpanyClientsStalling",
			"SherpanyDatabaseNotReady",
			"SherpanyDatabasePoolSaturated",
			"SherpanyDown",
			"SherpanyErrorBudgetBurn",
			"SherpanyLatencyBudgetBurn",
			"SherpanyPodRestarting",
			"SherpanyShedding",
		],
		"the alerts: down, error and latency burn, database not ready, pod restarting, pool saturated, shedding, clients stalling",
	);
});

interface RuleTests {
	tests: {
		alert_rule_test?: {
			alertname: string;
			exp_alerts: { exp_labels?: Record<string, string> }[];
		}[];
	}[];
}

t.test(
	"the unit tests fire every alert at every severity, and see each silent",
	async (t) => {
		const cases = (
			parse(readFileSync(RULE_TESTS_PATH, "utf8")) as RuleTests
		).tests.flatMap((test) => test.alert_rule_test ?? []);
		for (const rule of loadRules()) {
			if (rule.alert === undefined) continue;
			const severity = rule.labels?.severity;
			t.ok(
				cases.some(
					(c) =>
						c.alertname === rule.alert &&
						c.exp_alerts.some((a) => a.exp_labels?.severity === severity),
				),
				`${rule.alert} (${severity}) fires in a test`,
			);
			t.ok(
				cases.some(
					(c) => c.alertname === rule.alert && c.exp_alerts.length === 0,
				),
				`${rule.alert} stays silent in a test`,
			);
		}
	},
);

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
	return heading
		.trim()
		.toLowerCase()
		.replace(/[^\w\- ]/g, "")
		.replace(/ /g, "-");
}
