/**
 * The Terraform module applies exactly the objects of `deploy/kubernetes/`
 * for the same choices: for each choice of variables, the real terraform
 * runs the provider-free `modules/kustomization`, its kustomization is
 * rendered with `kubectl kustomize`, and the objects must equal those of a
 * kustomization this test writes by itself (base, components, image,
 * namespace, replicas, settings) — and, for the dev and release choices,
 * those of the shipped overlays. So the module and the manifests can't drift.
 *
 * Also: invalid choices are refused by the variables' validations with
 * their own messages, and the rendered objects pass the deploy policies.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t, { type Test } from "tap";
import { parse } from "yaml";
import { checkPolicies } from "../helpers/kube-policy.ts";
import {
	type KubeObject,
	kustomize,
	listComponents,
	renderPinnedRelease,
} from "../helpers/kustomize.ts";
import {
	checkServeSecret,
	withoutServeSecret,
} from "../helpers/serve-secret.ts";
import {
	createMappingRoot,
	findTerraform,
	type MappingRoot,
	skipWithoutTerraform,
	TERRAFORM_DIR,
} from "../helpers/terraform.ts";
import {
	CASES,
	DYNAMIC_BLOCKS,
	OVERLAY_SERVE_PASSWORDS,
	OVERLAYS,
	REFUSED,
	RELEASE_DIGEST,
	RELEASE_POSTGRES_IMAGE,
	writeExpected,
} from "../helpers/terraform-cases.ts";

async function runSuite(): Promise<void> {
	// Compared after the runs: no state, .terraform or lock file may appear.
	const before = await listTerraformDir();
	const produced: Array<Record<string, unknown>> = [];
	const root = await createMappingRoot();
	t.teardown(() => root.close());
	const onDisk = new Set(await listComponents());

	for (const choice of CASES) {
		t.test(choice.label, async (t) => {
			const missing = choice.expected.components.filter(
				(name) => !onDisk.has(name),
			);
			if (missing.length > 0) {
				// A component another branch adds (monitoring): the module must
				// refuse it clearly rather than render without it.
				await t.rejects(
					root.apply(choice.variables),
					/deploy\/kubernetes lacks the base or a chosen component/,
					`refused while components/${missing.join(", ")} is not in this checkout`,
				);
				return;
			}
			const outputs = await root.apply(choice.variables);
			produced.push(outputs.kustomization);
			t.same(
				outputs.components,
				choice.expected.components,
				"components in order",
			);
			const fromModule = await renderModule(root, outputs.kustomization_yaml);
			const expected = await kustomize(
				await writeExpected(root.dir, choice.label, choice.expected),
			);
			assertSameObjects(t, fromModule, expected);
			if (choice.expected.components.includes("cloudnativepg"))
				checkServeSecret(t, fromModule, {
					namespace: choice.expected.namespace,
					password: choice.expected.servePassword ?? "",
				});
			assertDataObjects(t, outputs.data_objects, fromModule, choice);
			t.same(
				checkPolicies(fromModule, { release: choice.release }),
				[],
				"the objects pass the deploy policies",
			);
			assertSecretsSeparated(t, outputs);
		});
	}

	for (const [overlay, variables] of Object.entries(OVERLAYS)) {
		t.test(`variables that match overlays/${overlay}`, async (t) => {
			const outputs = await root.apply(variables);
			produced.push(outputs.kustomization);
			const fromModule = await renderModule(root, outputs.kustomization_yaml);
			const expected =
				overlay === "release"
					? await renderPinnedRelease(
							String((variables.image as { tag: string }).tag),
							RELEASE_DIGEST,
							RELEASE_POSTGRES_IMAGE,
						)
					: await kustomize(`overlays/${overlay}`);
			const servePassword = OVERLAY_SERVE_PASSWORDS[overlay];
			if (servePassword === undefined) {
				assertSameObjects(t, fromModule, expected);
				return;
			}
			// The overlay leaves that Secret to the operator; the module makes it.
			assertSameObjects(t, withoutServeSecret(fromModule), expected);
			checkServeSecret(t, fromModule, {
				namespace: "sherpany",
				password: servePassword,
			});
		});
	}

	t.test(
		"backup: the Ansible role's sherpany_backup has the same keys and defaults",
		async (t) => {
			const outputs = await root.apply(CASES[0]?.variables ?? {});
			const vars = parse(
				await readFile(
					join(TERRAFORM_DIR, "../ansible/roles/sherpany/vars/main.yml"),
					"utf8",
				),
			) as { sherpany_backup_defaults: Record<string, unknown> };
			// Ansible has no null: its empty string stands for Terraform's.
			const fromTerraform = Object.fromEntries(
				Object.entries(outputs.backup).map(([key, value]) => [
					key,
					value ?? "",
				]),
			);
			t.same(vars.sherpany_backup_defaults, fromTerraform);
			t.equal(Object.keys(fromTerraform).length, 8, "all eight keys");
		},
	);

	for (const refused of REFUSED) {
		t.test(`refuses ${refused.label}`, async (t) => {
			await t.rejects(root.apply(refused.variables), refused.message);
		});
	}

	t.test(
		"modules/sherpany hands the provider every field the mapping produced",
		async (t) => {
			// Only the mapping runs here; a field that main.tf did not pass on
			// would silently never reach the cluster.
			const main = await readFile(
				join(TERRAFORM_DIR, "modules/sherpany/main.tf"),
				"utf8",
			);
			const consumed = new Set(
				[...main.matchAll(/local\.kustomization\.(\w+)/g)].map((m) => m[1]),
			);
			const fields = new Set(produced.flatMap((k) => Object.keys(k)));
			for (const field of fields)
				if (field !== "apiVersion" && field !== "kind")
					t.ok(consumed.has(field), `${field} is passed to the provider`);
			for (const [field, iterator] of Object.entries(DYNAMIC_BLOCKS)) {
				const used = new Set(
					[
						...main.matchAll(
							new RegExp(
								`${iterator}\\.value\\.(\\w+)|lookup\\(${iterator}\\.value, "(\\w+)"`,
								"g",
							),
						),
					].map((m) => m[1] ?? m[2]),
				);
				const keys = new Set(
					produced.flatMap((k) =>
						((k[field] ?? []) as Array<Record<string, unknown>>).flatMap(
							(entry) => Object.keys(entry),
						),
					),
				);
				t.ok(keys.size > 0, `the cases produced ${field}`);
				for (const key of keys)
					t.ok(
						used.has(key),
						`${field}[].${key} reaches dynamic "${iterator}"`,
					);
			}
		},
	);

	t.test("terraform wrote nothing into the repository", async (t) => {
		t.same(
			await listTerraformDir(),
			before,
			"deploy/terraform holds the same files as before the runs",
		);
	});
}

/** Every path under deploy/terraform, sorted. */
async function listTerraformDir(): Promise<string[]> {
	return (await readdir(TERRAFORM_DIR, { recursive: true })).sort();
}

/** Writes the module's kustomization where terraform ran, and renders it. */
async function renderModule(
	root: MappingRoot,
	yaml: string,
): Promise<KubeObject[]> {
	await writeFile(join(root.dir, "kustomization.yaml"), yaml);
	return kustomize(root.dir);
}

/** Same objects by kind, namespace and name, and each equal in full. */
function assertSameObjects(
	t: Test,
	actual: readonly KubeObject[],
	expected: readonly KubeObject[],
): void {
	const byId = (objects: readonly KubeObject[]) =>
		new Map(
			objects.map((object) => [
				`${object.kind} ${object.metadata.namespace ?? "-"}/${object.metadata.name}`,
				object,
			]),
		);
	const actualById = byId(actual);
	const expectedById = byId(expected);
	t.same(
		[...actualById.keys()].sort(),
		[...expectedById.keys()].sort(),
		"the same objects (kind, namespace, name)",
	);
	for (const [id, object] of expectedById)
		if (actualById.has(id)) t.same(actualById.get(id), object, `${id} equal`);
}

/** The plain output holds no secret value; the sensitive ones complete it. */
function assertSecretsSeparated(
	t: Test,
	outputs: Awaited<ReturnType<MappingRoot["apply"]>>,
): void {
	const plain = JSON.stringify(outputs.kustomization);
	for (const literals of Object.values(outputs.secret_literals))
		for (const literal of literals)
			t.notOk(
				plain.includes(literal.slice(literal.indexOf("=") + 1)),
				"the kustomization output holds no secret value",
			);
	const generators = (
		outputs.kustomization as { secretGenerator: Array<{ name: string }> }
	).secretGenerator;
	t.same(
		generators.map((generator) => generator.name).sort(),
		Object.keys(outputs.secret_literals).sort(),
		"every generated Secret has its literals in secret_literals",
	);
}

const terraform = await findTerraform();
if (!terraform) {
	const reason = skipWithoutTerraform();
	t.test(reason, { skip: reason }, () => {});
} else {
	t.comment(`using ${terraform}`);
	await runSuite();
}

/**
 * The objects ../sherpany keeps out of `terraform destroy` (data_objects)
 * are, written independently here: the namespace, and the database's
 * volume-holding object of the mode; and each is in the render, so a rename
 * cannot leave the data unprotected.
 */
function assertDataObjects(
	t: Test,
	dataObjects: readonly string[],
	objects: readonly KubeObject[],
	choice: (typeof CASES)[number],
): void {
	const mode = (choice.variables.database as { mode?: string } | undefined)
		?.mode;
	const expected = [
		`Namespace/${choice.expected.namespace}`,
		...(mode === undefined || mode === "in-cluster"
			? ["PersistentVolumeClaim/sherpany-postgres-backup"]
			: []),
		...(mode === "cloudnativepg" ? ["Cluster/sherpany-db"] : []),
	];
	t.same(dataObjects, expected, "the objects kept from terraform destroy");
	for (const entry of dataObjects) {
		const [kind, name] = entry.split("/");
		t.ok(
			objects.some((o) => o.kind === kind && o.metadata.name === name),
			`${entry} is rendered`,
		);
	}
}
