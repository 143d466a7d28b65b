/**
 * The play under `--check --diff`, its pruning of what a later render no
 * longer makes, and its pinned collection, all run for real with no cluster:
 * - `--check --diff --tags render` into a fresh directory renders the same
 *   objects as a normal run (the render steps are local and run in check
 *   mode too), and `--check --tags deploy` gets as far as the apply;
 * - the prune selection, run by Ansible on objects as the API server lists
 *   them, picks the old hash-suffixed ConfigMaps and Secrets and the parts
 *   turned off, and nothing that the render makes or that others own;
 * - requirements.yml pins kubernetes.core to the version these tests run
 *   with, and names every collection the roles use.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { parse } from "yaml";
import {
	ANSIBLE_DIR,
	ansibleOrSkip,
	renderWithAnsible,
	runTool,
} from "../helpers/ansible.ts";
import { parseObjects } from "../helpers/kustomize.ts";

const SECRET = {
	"superuser-password": "superuser-secret-value-1",
	"migrate-password": "migrate-secret-value-2",
	"serve-password": "serve-secret-value-3",
};
const LABELS = {
	"app.kubernetes.io/part-of": "sherpany",
	"app.kubernetes.io/instance": "sherpany",
	"app.kubernetes.io/managed-by": "kustomize",
};

function live(
	kind: string,
	name: string,
	labels: Record<string, string> = LABELS,
) {
	const apiVersion =
		kind === "Ingress"
			? "networking.k8s.io/v1"
			: kind === "CronJob"
				? "batch/v1"
				: "v1";
	return { apiVersion, kind, metadata: { name, namespace: "shop", labels } };
}

if (await ansibleOrSkip(t)) {
	t.test(
		"--check --diff --tags render renders into a fresh directory",
		async (t) => {
			const dir = await mkdtemp(join(tmpdir(), "sherpany-ansible-check-"));
			t.teardown(() => rm(dir, { recursive: true, force: true }));
			const result = await runTool("ansible-playbook", [
				"-i",
				"localhost,",
				"-c",
				"local",
				"--check",
				"--diff",
				"--tags",
				"render",
				"-e",
				JSON.stringify({
					sherpany_render_dir: join(dir, "out"),
					sherpany_database_secret: SECRET,
				}),
				"site.yml",
			]);
			t.equal(
				result.code,
				0,
				result.code === 0 ? "the play succeeds" : result.stdout.slice(-600),
			);
			const checked = parseObjects(
				await readFile(join(dir, "out", "objects.yaml"), "utf8"),
			);
			const normal = await renderWithAnsible({
				sherpany_database_secret: SECRET,
			});
			t.ok(checked.length > 10, "objects were rendered");
			t.same(checked, normal.objects.localhost, "the same as a normal render");
			for (const value of Object.values(SECRET))
				t.notOk(result.stdout.includes(value), "no secret value in the diff");
		},
	);

	t.test("--check --tags deploy gets to the apply", async (t) => {
		const dir = await mkdtemp(join(tmpdir(), "sherpany-ansible-check-"));
		t.teardown(() => rm(dir, { recursive: true, force: true }));
		const result = await runTool("ansible-playbook", [
			"-i",
			"localhost,",
			"-c",
			"local",
			"--check",
			"--diff",
			"--tags",
			"deploy",
			"-e",
			JSON.stringify({
				sherpany_render_dir: dir,
				sherpany_database_secret: SECRET,
			}),
			"site.yml",
		]);
		t.not(result.code, 0, "it fails without a cluster");
		const failedTask =
			/TASK \[([^\]]+)\][^\n]*\n(?:(?!TASK \[)[\s\S])*?fatal:/.exec(
				result.stdout,
			)?.[1];
		t.equal(
			failedTask,
			"sherpany : Apply the Namespace (server-side apply)",
			"the first failure is the apply",
		);
		t.match(
			result.stdout,
			/Could not create API client: Invalid kube-config file/,
			"for want of a kubeconfig",
		);
	});

	t.test("prune picks what the render no longer makes", async (t) => {
		const dir = await mkdtemp(join(tmpdir(), "sherpany-ansible-prune-"));
		t.teardown(() => rm(dir, { recursive: true, force: true }));
		const rendered = [
			live("ConfigMap", "sherpany-5t2h8c9m4k"),
			live("Secret", "sherpany-database-7gk8m2b4hd"),
			live("ConfigMap", "sherpany-dashboard"),
			live("Deployment", "sherpany"),
		];
		const existing = [
			...rendered,
			// An earlier content hash of a generated ConfigMap and Secret.
			live("ConfigMap", "sherpany-b8fd9hm6k2"),
			live("Secret", "sherpany-database-c4dk92mht8"),
			// A part turned off since.
			live("Ingress", "sherpany"),
			live("CronJob", "sherpany-seed"),
			// Not ours to delete: a Secret without a hash suffix (made by
			// hand, or by an operator that copied the labels), and a
			// ConfigMap of another instance.
			live("Secret", "sherpany-database"),
			live("ConfigMap", "other-5t2h8c9m4k", {
				...LABELS,
				"app.kubernetes.io/instance": "other",
			}),
		];
		const out = join(dir, "prune.json");
		await writeFile(
			join(dir, "play.yml"),
			JSON.stringify([
				{
					hosts: "localhost",
					gather_facts: false,
					tasks: [
						{
							"ansible.builtin.import_tasks": join(
								ANSIBLE_DIR,
								"roles/sherpany/tasks/prune-select.yml",
							),
						},
						{
							"ansible.builtin.copy": {
								dest: out,
								content: "{{ sherpany_prune | to_json }}",
								mode: "0600",
							},
						},
					],
				},
			]),
		);
		const result = await runTool("ansible-playbook", [
			"-i",
			"localhost,",
			"-c",
			"local",
			"-e",
			JSON.stringify({
				sherpany_objects: rendered,
				sherpany_live_objects: existing,
			}),
			join(dir, "play.yml"),
		]);
		t.equal(
			result.code,
			0,
			result.code === 0 ? "the play succeeds" : result.stdout.slice(-600),
		);
		const prune = JSON.parse(await readFile(out, "utf8")) as Array<{
			kind: string;
			name: string;
		}>;
		t.same(prune.map((o) => `${o.kind}/${o.name}`).sort(), [
			"ConfigMap/sherpany-b8fd9hm6k2",
			"CronJob/sherpany-seed",
			"Ingress/sherpany",
			"Secret/sherpany-database-c4dk92mht8",
		]);
	});

	t.test(
		"requirements.yml pins kubernetes.core and every collection used",
		async (t) => {
			const requirements = parse(
				await readFile(join(ANSIBLE_DIR, "requirements.yml"), "utf8"),
			) as { collections: Array<{ name: string; version: string }> };
			const pinned = new Map(
				requirements.collections.map((c) => [c.name, c.version]),
			);
			const listed = await runTool("ansible-galaxy", [
				"collection",
				"list",
				"kubernetes.core",
			]);
			const installed = /kubernetes\.core\s+(\S+)/.exec(listed.stdout)?.[1];
			t.ok(installed, "kubernetes.core is installed");
			t.equal(
				pinned.get("kubernetes.core"),
				installed,
				"pinned to the version tested",
			);
			const used = new Set<string>();
			for (const role of await readdir(join(ANSIBLE_DIR, "roles")))
				for (const file of await readdir(
					join(ANSIBLE_DIR, "roles", role, "tasks"),
				)) {
					const text = await readFile(
						join(ANSIBLE_DIR, "roles", role, "tasks", file),
						"utf8",
					);
					for (const match of text.matchAll(
						/\b([a-z_]+\.[a-z_]+)\.[a-z_]+[:(']/g,
					))
						if (match[1] !== "ansible.builtin") used.add(match[1] as string);
				}
			t.ok(used.has("kubernetes.core"), "the roles use kubernetes.core");
			for (const collection of used)
				t.ok(pinned.has(collection), `${collection} is in requirements.yml`);
			for (const version of pinned.values())
				t.match(version, /^\d+\.\d+\.\d+$/, "an exact version");
		},
	);
}
