/**
 * deploy/ansible passes the checks its README names: `ansible-playbook
 * --syntax-check`, `ansible-lint` with the production profile (offline:
 * nothing is fetched from Galaxy) and `yamllint`; the linters' settings are
 * shown to bite; and every role documents exactly the variables it defaults.
 */
import { appendFile, cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { parse } from "yaml";
import { ANSIBLE_DIR, ansibleOrSkip, runTool } from "../helpers/ansible.ts";

const ROLES = ["sherpany", "sherpany_seed"];

if (await ansibleOrSkip(t)) {
	t.test("ansible-playbook --syntax-check", async (t) => {
		const result = await runTool("ansible-playbook", [
			"--syntax-check",
			"-i",
			"inventory/example.yml",
			"site.yml",
		]);
		t.equal(result.code, 0, "exits 0", {
			output: result.stdout + result.stderr,
		});
		t.match(result.stdout, /playbook: site\.yml/);
	});

	t.test("ansible-lint --profile production passes", async (t) => {
		const result = await runTool("ansible-lint", ["--profile", "production"]);
		const output = result.stdout + result.stderr;
		t.equal(result.code, 0, "exits 0", { output });
		t.match(output, /Passed with production profile: 0 failure/);
	});

	t.test("ansible-lint's settings catch a violation", async (t) => {
		// A copy with one task that breaks the production profile's rules.
		const copy = await mkdtemp(join(tmpdir(), "sherpany-ansible-lint-"));
		t.teardown(() => rm(copy, { recursive: true, force: true }));
		await cp(ANSIBLE_DIR, copy, {
			recursive: true,
			filter: (path) => !path.includes("/rendered"),
		});
		await appendFile(
			join(copy, "roles", "sherpany", "tasks", "apply.yml"),
			"\n- name: Apply with kubectl\n  shell: kubectl apply -f objects.yaml\n",
		);
		const result = await runTool("ansible-lint", [], { cwd: copy });
		const output = result.stdout + result.stderr;
		t.not(result.code, 0, "ansible-lint fails");
		t.match(output, /fqcn\[action-core\]/, "on a module without its FQCN");
		t.match(output, /command-instead-of-shell|no-changed-when/);
	});

	t.test("yamllint passes, in strict mode", async (t) => {
		const result = await runTool("yamllint", ["--strict", "."]);
		t.equal(result.code, 0, "exits 0", {
			output: result.stdout + result.stderr,
		});
	});

	t.test("yamllint's settings catch a violation", async (t) => {
		const result = await runTool(
			"yamllint",
			["--strict", "-c", ".yamllint", "-"],
			{
				input: "---\nenabled: yes\n",
			},
		);
		t.not(result.code, 0, "yamllint fails");
		t.match(result.stdout, /truthy/, "on a truthy value other than true/false");
	});

	for (const role of ROLES)
		t.test(`role ${role} documents the variables it defaults`, async (t) => {
			const dir = join(ANSIBLE_DIR, "roles", role);
			const defaults = parse(
				await readFile(join(dir, "defaults", "main.yml"), "utf8"),
			) as Record<string, unknown>;
			const specs = parse(
				await readFile(join(dir, "meta", "argument_specs.yml"), "utf8"),
			) as {
				argument_specs: {
					main: {
						options: Record<
							string,
							{ default?: unknown; description?: unknown }
						>;
					};
				};
			};
			const options = specs.argument_specs.main.options;
			t.same(
				Object.keys(options).sort(),
				Object.keys(defaults).sort(),
				"the same variables",
			);
			for (const [name, option] of Object.entries(options)) {
				t.same(option.default, defaults[name], `${name}: the same default`);
				t.ok(option.description, `${name} is described`);
				t.match(name, new RegExp(`^${role}_`), `${name} has the role's prefix`);
			}
		});
}
