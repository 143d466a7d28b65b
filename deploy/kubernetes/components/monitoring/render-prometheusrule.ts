/**
 * Writes prometheusrule.yaml, the Prometheus Operator's PrometheusRule, from
 * rules.yaml, the plain rule file that promtool checks and tests: the rule
 * groups become its `spec`, comments included. Run it after editing
 * rules.yaml (`npm run monitoring:rules`); a test fails while the two differ.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseDocument, stringify } from "yaml";

/** The component's rule file, the one source of the rules. */
export const RULES_FILE = fileURLToPath(new URL("rules.yaml", import.meta.url));
/** The generated PrometheusRule. */
export const PROMETHEUS_RULE_FILE = fileURLToPath(
	new URL("prometheusrule.yaml", import.meta.url),
);

const HEADER = `# Generated from rules.yaml by render-prometheusrule.ts (npm run
# monitoring:rules): edit rules.yaml, then run it again.
`;

/** Renders the PrometheusRule for the rule file's text. */
export function renderPrometheusRule(rulesYaml: string): string {
	const rules = parseDocument(rulesYaml);
	if (rules.errors.length > 0) throw rules.errors[0];
	// Keep the rule file's own header comment out: it talks about this file.
	rules.commentBefore = null;
	const head = stringify({
		apiVersion: "monitoring.coreos.com/v1",
		kind: "PrometheusRule",
		metadata: { name: "sherpany", namespace: "sherpany" },
	});
	const spec = rules
		.toString({ lineWidth: 0 })
		.replace(/^(?=.)/gm, "  ")
		.trimStart();
	return `${HEADER}${head}spec:\n  ${spec}`;
}

// `node render-prometheusrule.ts [output]`: writes prometheusrule.yaml, or `output`.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
	writeFileSync(
		process.argv[2] ?? PROMETHEUS_RULE_FILE,
		renderPrometheusRule(readFileSync(RULES_FILE, "utf8")),
	);
}
