/**
 * deploy/kubernetes/README.md's "Probes, resources and shutdown" table says
 * what the rendered Deployment does: each row has its three cells, and the
 * probe and resource rows read back as the rendered values.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IContainer, IProbe } from "kubernetes-models/v1";
import t from "tap";
import { findObject, KUBERNETES_DIR, kustomize } from "../helpers/kustomize.ts";

const HEADING = "### Probes, resources and shutdown";

/** The table under `heading`: rows of trimmed cells, header and rule left out. */
export function parseTable(markdown: string, heading: string): string[][] {
	const start = markdown.indexOf(heading);
	if (start < 0) throw new Error(`no "${heading}" in the README`);
	const lines = markdown.slice(start + heading.length).split("\n");
	const first = lines.findIndex((line) => line.startsWith("|"));
	const rows: string[][] = [];
	for (const line of lines.slice(first)) {
		if (!line.startsWith("|")) break;
		rows.push(
			line
				.slice(1, line.endsWith("|") ? -1 : undefined)
				.split("|")
				.map((cell) => cell.trim()),
		);
	}
	return rows.slice(2);
}

/** A probe as the table words it, with the kubelet's defaults filled in. */
export function describeProbe(probe: IProbe): string {
	const action = probe.exec
		? `exec \`${probe.exec.command?.map((part) => part.replace(/^.*\//, "")).join(" ")}\``
		: `GET \`${probe.httpGet?.path}\` on \`${probe.httpGet?.port}\``;
	return [
		action,
		`every ${probe.periodSeconds ?? 10} s`,
		`timeout ${probe.timeoutSeconds ?? 1} s`,
		`${probe.failureThreshold ?? 3} failures`,
	].join(", ");
}

const rows = parseTable(
	await readFile(join(KUBERNETES_DIR, "README.md"), "utf8"),
	HEADING,
);
const deployment = findObject<IDeployment>(
	await kustomize("base"),
	"Deployment",
	"sherpany",
);
const container = deployment.spec?.template.spec?.containers.find(
	(c) => c.name === "sherpany",
) as IContainer;
const byWhat = new Map(rows.map((row) => [row[0], row]));

t.test("every row has three cells, one row per subject", async (t) => {
	for (const row of rows)
		t.equal(row.length, 3, `row ${row[0]}: ${row.length} cells`);
	t.same(
		rows.map((row) => row[0]),
		["liveness", "readiness", "startup", "memory", "CPU", "shutdown"],
	);
});

t.test("the probe rows say what the Deployment's probes do", async (t) => {
	for (const [what, probe] of [
		["liveness", container.livenessProbe],
		["readiness", container.readinessProbe],
		["startup", container.startupProbe],
	] as const) {
		t.ok(probe, `the container has a ${what} probe`);
		t.equal(byWhat.get(what)?.[1], describeProbe(probe as IProbe), what);
	}
});

t.test(
	"the resource rows say the Deployment's requests and limits",
	async (t) => {
		const { requests, limits } = container.resources ?? {};
		t.equal(requests?.memory, limits?.memory, "memory request = limit");
		t.equal(
			byWhat.get("memory")?.[1],
			`request = limit = ${String(limits?.memory).replace(/Mi$/, " MiB")}`,
		);
		t.equal(
			byWhat.get("CPU")?.[1],
			`request ${requests?.cpu}, limit ${limits?.cpu}`,
		);
	},
);
