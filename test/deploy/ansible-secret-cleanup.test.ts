/**
 * A `deploy` run of the playbook (no tags) writes the vaulted database
 * Secret's values to the render dir for kustomize (`kustomization/secrets/`,
 * and `objects.yaml`), and must leave no copy of them there when it ends,
 * whether it failed applying (here, always: there is no cluster) or failed
 * earlier, in kustomize. A `render` run keeps them: that is what it is for,
 * and it shows that the search below does find a copy when one is there.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { ansibleOrSkip, runTool } from "../helpers/ansible.ts";

/** The in-cluster database's vaulted passwords, one per role. */
const VAULTED = {
	"migrate-password": "cleanup-test-migrate-4a7f",
	"serve-password": "cleanup-test-serve-9c2e",
	"superuser-password": "cleanup-test-superuser-61bd",
};

/** Each value as it may appear on disk: as is, or base64 in a Secret. */
const NEEDLES = Object.values(VAULTED).flatMap((value) => [
	value,
	Buffer.from(value).toString("base64"),
]);

/** Every file under `dir` (none when it does not exist) that holds a vaulted value. */
async function filesWithSecrets(dir: string): Promise<string[]> {
	const entries = await readdir(dir, {
		recursive: true,
		withFileTypes: true,
	}).catch(() => []);
	const found: string[] = [];
	for (const entry of entries.filter((e) => e.isFile())) {
		const path = join(entry.parentPath, entry.name);
		const text = await readFile(path, "utf8");
		if (NEEDLES.some((needle) => text.includes(needle))) found.push(path);
	}
	return found;
}

/** Runs site.yml on localhost with the vaulted Secret and `extra` vars; resolves with the result and the render dir. */
async function play(t: Test, args: string[], extra: Record<string, unknown>) {
	const scratch = await mkdtemp(join(tmpdir(), "sherpany-ansible-cleanup-"));
	t.teardown(() => rm(scratch, { recursive: true, force: true }));
	const renderDir = join(scratch, "rendered");
	const varsFile = join(scratch, "vars.json");
	await writeFile(
		varsFile,
		JSON.stringify({
			sherpany_database_secret: VAULTED,
			sherpany_render_dir: renderDir,
			...extra,
		}),
	);
	const result = await runTool("ansible-playbook", [
		"-i",
		"localhost,",
		"-c",
		"local",
		...args,
		"-e",
		`@${varsFile}`,
		"site.yml",
	]);
	return { result, renderDir };
}

t.test("the Secret's plaintext copies after a run", async (t) => {
	if (!(await ansibleOrSkip(t))) return;

	await t.test("a render run keeps them, for reading", async (t) => {
		const { result, renderDir } = await play(t, ["--tags", "render"], {});
		t.equal(result.code, 0, "the render succeeds");
		const files = (await filesWithSecrets(renderDir)).map((path) =>
			path.slice(renderDir.length + 1),
		);
		t.same(
			files.sort(),
			[
				"kustomization/secrets/migrate-password",
				"kustomization/secrets/serve-password",
				"kustomization/secrets/superuser-password",
				"objects.yaml",
			],
			"the search finds every copy",
		);
	});

	await t.test("a deploy run that fails applying removes them", async (t) => {
		const { result, renderDir } = await play(t, [], {});
		t.not(result.code, 0, "no cluster: the apply fails");
		t.match(result.stdout, /TASK \[sherpany : Apply the Namespace/);
		t.match(
			result.stdout,
			/TASK \[sherpany : Remove the plaintext copies of the vaulted Secret\]/,
		);
		t.same(await filesWithSecrets(renderDir), [], "no copy is left");
		t.notMatch(
			result.stdout + result.stderr,
			new RegExp(NEEDLES.join("|")),
			"and none reached the log",
		);
	});

	await t.test(
		"cloudnativepg: the read-only role's vaulted password, the same way",
		async (t) => {
			const cnpg = {
				sherpany_database: "cloudnativepg",
				sherpany_database_secret: {
					"serve-password": VAULTED["serve-password"],
				},
			};
			const render = await play(t, ["--tags", "render"], cnpg);
			t.equal(render.result.code, 0, "the render succeeds");
			t.same(
				(await filesWithSecrets(render.renderDir))
					.map((path) => path.slice(render.renderDir.length + 1))
					.sort(),
				["kustomization/secrets/serve-password", "objects.yaml"],
				"a render keeps the password's file and Secret sherpany-db-serve",
			);
			const deploy = await play(t, [], cnpg);
			t.not(deploy.result.code, 0, "no cluster: the apply fails");
			t.match(deploy.result.stdout, /TASK \[sherpany : Apply the Namespace/);
			t.same(await filesWithSecrets(deploy.renderDir), [], "no copy is left");
			t.notMatch(
				deploy.result.stdout + deploy.result.stderr,
				new RegExp(NEEDLES.join("|")),
				"and none reached the log",
			);
		},
	);

	await t.test(
		"a deploy run that fails in kustomize, after writing them, removes them",
		async (t) => {
			const { result, renderDir } = await play(t, ["--tags", "deploy"], {
				sherpany_kustomize_binary: "/bin/false",
			});
			t.not(result.code, 0);
			t.match(result.stdout, /Show why kustomize failed/);
			t.notMatch(result.stdout, /TASK \[sherpany : Apply the Namespace/);
			t.same(await filesWithSecrets(renderDir), [], "no copy is left");
		},
	);
});
