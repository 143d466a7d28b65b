/**
 * The playbook's tags do what the README says: `render` runs only tasks that
 * need no cluster (Ansible's builtin modules and the kustomize lookup),
 * `deploy` renders and then applies, and `seed` runs only when asked for.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { parse } from "yaml";
import { ANSIBLE_DIR, ansibleOrSkip, runTool } from "../helpers/ansible.ts";

/** A task of the role's task files, as YAML gives it. */
type Task = Record<string, unknown> & { block?: Task[]; rescue?: Task[] };

/** Keys of a task that are not its module. */
const TASK_KEYWORDS = new Set([
	"name",
	"when",
	"loop",
	"loop_control",
	"register",
	"vars",
	"no_log",
	"diff",
	"check_mode",
	"tags",
	"until",
	"retries",
	"delay",
	"failed_when",
	"changed_when",
	"block",
	"rescue",
	"always",
]);

if (await ansibleOrSkip(t)) {
	t.test("what runs for each tag", async (t) => {
		const [render, untagged, seed] = await Promise.all([
			listTasks(["--tags", "render"]),
			listTasks([]),
			listTasks(["--tags", "seed"]),
		]);
		t.ok(
			render.includes(
				"sherpany : Write the objects, as `kubectl kustomize` would print them",
			),
			"render writes the objects",
		);
		t.notOk(
			render.some((task) => /Apply the|Wait for the Deployment/.test(task)),
			"render applies nothing",
		);
		t.notOk(
			render.some(
				(task) =>
					task.startsWith("sherpany_seed : ") &&
					!task.includes("Validating arguments"),
			),
			"render runs no seed task",
		);
		t.ok(
			untagged.includes(
				"sherpany : Apply the other objects (server-side apply)",
			),
			"an untagged run applies",
		);
		t.ok(
			untagged.indexOf(
				"sherpany : Run kustomize (no log, the objects may hold a Secret)",
			) <
				untagged.indexOf(
					"sherpany : Apply the other objects (server-side apply)",
				),
			"after rendering",
		);
		t.notOk(
			untagged.some(
				(task) =>
					task.startsWith("sherpany_seed : ") &&
					!task.includes("Validating arguments"),
			),
			"an untagged run does not seed",
		);
		t.ok(
			seed.includes("sherpany_seed : Create the Job from it"),
			"seed makes the Job",
		);
		t.notOk(
			seed.some(
				(task) =>
					task.startsWith("sherpany : ") &&
					!task.includes("Validating arguments"),
			),
			"seed neither renders nor applies",
		);
	});

	t.test("render's tasks use no module that talks to a cluster", async (t) => {
		const modules = new Set<string>();
		for (const file of ["validate.yml", "render.yml"]) {
			const tasks = parse(
				await readFile(
					join(ANSIBLE_DIR, "roles", "sherpany", "tasks", file),
					"utf8",
				),
			) as Task[];
			for (const module of modulesOf(tasks)) modules.add(module);
		}
		t.ok(modules.size > 3, "the task files were read");
		for (const module of modules)
			t.match(module, /^ansible\.builtin\./, `${module} is a builtin module`);
	});

	t.test("deploy renders, then applies the rendered objects", async (t) => {
		// No cluster here: the first task that needs one must be the apply.
		const dir = await mkdtemp(join(tmpdir(), "sherpany-ansible-deploy-"));
		t.teardown(() => rm(dir, { recursive: true, force: true }));
		const result = await runTool("ansible-playbook", [
			"-i",
			"localhost,",
			"-c",
			"local",
			"--tags",
			"deploy",
			"-e",
			JSON.stringify({
				sherpany_render_dir: dir,
				sherpany_database_secret: {
					"superuser-password": "x",
					"migrate-password": "y",
					"serve-password": "z",
				},
			}),
			"site.yml",
		]);
		t.not(result.code, 0, "it fails without a cluster");
		// The module took its arguments and imported its client: only the
		// cluster is missing.
		t.match(
			result.stdout,
			/Could not create API client: Invalid kube-config file/,
			"for want of a kubeconfig",
		);
		const failedTask =
			/TASK \[([^\]]+)\][^\n]*\n(?:(?!TASK \[)[\s\S])*?fatal:/.exec(
				result.stdout,
			)?.[1];
		t.equal(
			failedTask,
			"sherpany : Apply the Namespace (server-side apply)",
			"at the apply",
			{
				output: result.stdout,
			},
		);
		t.match(
			result.stdout,
			/TASK \[sherpany : Write the objects[^\n]*\n\s*changed:/,
			"after writing the objects (which the play then removes: they hold the vaulted Secret)",
		);
	});
}

async function listTasks(tags: readonly string[]): Promise<string[]> {
	const result = await runTool("ansible-playbook", [
		"--list-tasks",
		"-i",
		"localhost,",
		...tags,
		"site.yml",
	]);
	if (result.code !== 0)
		throw new Error(`--list-tasks failed: ${result.stdout}${result.stderr}`);
	return [...result.stdout.matchAll(/^\s+(\S.*?)\tTAGS:/gm)].map(
		(match) => match[1] as string,
	);
}

function* modulesOf(tasks: readonly Task[]): Generator<string> {
	for (const task of tasks) {
		for (const key of Object.keys(task)) if (!TASK_KEYWORDS.has(key)) yield key;
		yield* modulesOf(task.block ?? []);
		yield* modulesOf(task.rescue ?? []);
	}
}
