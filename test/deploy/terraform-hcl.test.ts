/**
 * `deploy/terraform/` is well-formed Terraform in the house style:
 * `terraform fmt` leaves it alone; every file parses; every variable is typed,
 * described and (unless boolean) validated; secrets are sensitive; every
 * output is described; modules configure no provider and pin their versions;
 * `modules/sherpany` declares the same variables as the mapping module and
 * passes each one on; the example passes only what the module declares.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import t from "tap";
import { parseHcl } from "../helpers/hcl.ts";
import {
	findTerraform,
	runTerraform,
	skipWithoutTerraform,
	TERRAFORM_DIR,
} from "../helpers/terraform.ts";

const { version } = JSON.parse(
	await readFile(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string };

/** One parsed block of a kind, e.g. a `variable "x" { … }`. */
type Block = Record<string, unknown>;
/** hcl2json's shape: kind → name → [block]. */
type Parsed = Record<string, Record<string, Block[]> | Block[]>;

/** Variables whose value is a secret. */
const SECRET_VARIABLES = /password|_url$|token|private_key/;
/** Variables with nothing to validate beyond their type. */
const UNCONSTRAINED = new Set(["kubernetes_dir", "kubeconfig_path"]);
/** Variables that only switch on their own validations (the release's pinned images), by module. */
const VALIDATION_ONLY = new Set(["modules/kustomization/release"]);
/** hcl2json writes expressions, types included, as `${…}` strings. */
const BOOL_TYPE = "$" + "{bool}";

const files = await listTerraformFiles(TERRAFORM_DIR);
const parsed = new Map<string, Parsed>();
for (const file of files)
	parsed.set(
		file,
		(await parseHcl(file, await readFile(file, "utf8"))) as Parsed,
	);

/** Files of one module directory, merged by block kind. */
function moduleBlocks(dir: string): Record<string, Record<string, Block>> {
	const merged: Record<string, Record<string, Block>> = {};
	for (const [file, content] of parsed) {
		if (!file.endsWith(".tf") || join(file, "..") !== join(TERRAFORM_DIR, dir))
			continue;
		for (const [kind, blocks] of Object.entries(content)) {
			if (Array.isArray(blocks)) continue; // `terraform`, `locals`
			merged[kind] ??= {};
			const byName = merged[kind];
			for (const [name, labelled] of Object.entries(blocks)) {
				// `resource` and `data` have two labels: type, then name.
				if (Array.isArray(labelled)) byName[name] = labelled[0] as Block;
				else
					for (const [second, [block]] of Object.entries(
						labelled as Record<string, Block[]>,
					))
						if (block) byName[`${name}.${second}`] = block;
			}
		}
	}
	return merged;
}

const MODULES = ["modules/kustomization", "modules/sherpany"];
const ROOTS = [...MODULES, "examples/complete"];

t.test("terraform fmt -check -recursive deploy/terraform", async (t) => {
	const terraform = await findTerraform();
	if (!terraform) {
		const reason = skipWithoutTerraform();
		t.pass(reason, { skip: reason });
		return;
	}
	const result = await runTerraform(TERRAFORM_DIR, [
		"fmt",
		"-check",
		"-recursive",
		"-diff",
		".",
	]);
	t.equal(result.code, 0, `formatted (${terraform})\n${result.stdout}`);
});

t.test("every file parses, and the parser rejects a broken one", async (t) => {
	t.ok(files.length >= 12, `${files.length} files found`);
	for (const root of ROOTS)
		for (const name of ["versions.tf", "variables.tf", "main.tf", "outputs.tf"])
			t.ok(
				parsed.has(join(TERRAFORM_DIR, root, name)),
				`${root}/${name} parsed`,
			);
	t.ok(
		parsed.has(
			join(TERRAFORM_DIR, "examples/complete/terraform.tfvars.example"),
		),
		"terraform.tfvars.example parsed",
	);
	await t.rejects(
		parseHcl("broken.tf", 'variable "x" {\n  type = string\n'),
		/Unclosed configuration block/,
	);
});

for (const root of ROOTS) {
	t.test(`${root}: variables and outputs`, async (t) => {
		const { variable = {}, output = {} } = moduleBlocks(root);
		t.ok(Object.keys(variable).length > 0, "declares variables");
		// Every variable is read by the module, not only declared (a validation reads its own).
		const body = (
			await Promise.all(
				["main.tf", "outputs.tf"].map((name) =>
					readFile(join(TERRAFORM_DIR, root, name), "utf8"),
				),
			)
		).join("\n");
		for (const name of Object.keys(variable))
			if (!VALIDATION_ONLY.has(`${root}/${name}`))
				t.match(
					body,
					new RegExp(`\\bvar\\.${name}\\b`),
					`variable ${name} is used`,
				);
		for (const [name, block] of Object.entries(variable)) {
			t.match(block.type, /\S/, `variable ${name} has a type`);
			t.match(block.description, /\S{3}/, `variable ${name} is described`);
			if (SECRET_VARIABLES.test(name))
				t.equal(block.sensitive, true, `variable ${name} is sensitive`);
			if (
				MODULES.includes(root) &&
				block.type !== BOOL_TYPE &&
				!UNCONSTRAINED.has(name)
			)
				t.ok(
					Array.isArray(block.validation) && block.validation.length > 0,
					`variable ${name} is validated`,
				);
			for (const rule of (block.validation ?? []) as Block[])
				t.match(
					rule.error_message,
					/^\S.*\.$/s,
					`variable ${name}'s validation says what is wrong`,
				);
		}
		t.ok(Object.keys(output).length > 0, "declares outputs");
		for (const [name, block] of Object.entries(output)) {
			t.match(block.description, /\S{3}/, `output ${name} is described`);
			// hcl2json writes an expression as `${…}`; a constant output says nothing.
			t.match(
				block.value,
				/\$\{[\s\S]*\b[a-z_]+\.[a-z_]/,
				`output ${name} reads a variable, a local or a resource`,
			);
		}
	});
}

t.test("outputs that carry secret values are sensitive", async (t) => {
	const { output = {} } = moduleBlocks("modules/kustomization");
	for (const name of ["secret_literals", "kustomization_yaml"])
		t.equal(output[name]?.sensitive, true, `${name} is sensitive`);
	// The plain kustomization is what plans show and dynamic blocks iterate on.
	t.notOk(output.kustomization?.sensitive, "kustomization is not");
	t.notMatch(
		String(output.kustomization?.value),
		/secret_literals|database_passwords|database_url/,
		"kustomization is built without secret values",
	);
});

t.test("modules configure no provider and pin their versions", async (t) => {
	for (const root of ROOTS) {
		const versions = parsed.get(join(TERRAFORM_DIR, root, "versions.tf"));
		const terraform = (versions?.terraform as Block[] | undefined)?.[0];
		t.match(
			terraform?.required_version,
			/^~> 1\.\d+$/,
			`${root} pins required_version with ~>`,
		);
		const providers = (
			terraform?.required_providers as Block[] | undefined
		)?.[0] as Record<string, { source: string; version: string }> | undefined;
		for (const [name, provider] of Object.entries(providers ?? {}))
			t.match(
				provider.version,
				/^~> \d+\.\d+/,
				`${root} pins provider ${name} with ~>`,
			);
		const hasProvider = Object.keys(moduleBlocks(root)).includes("provider");
		if (root.startsWith("modules/"))
			t.notOk(hasProvider, `${root} configures no provider`);
		else t.ok(hasProvider, `${root} configures the provider`);
	}
	const mapping = parsed.get(
		join(TERRAFORM_DIR, "modules/kustomization/versions.tf"),
	);
	t.notOk(
		(mapping?.terraform as Block[] | undefined)?.[0]?.required_providers,
		"the mapping module needs no provider at all",
	);
});

t.test(
	"modules/sherpany declares and passes on the mapping's variables",
	async (t) => {
		const mapping = moduleBlocks("modules/kustomization").variable ?? {};
		const main = moduleBlocks("modules/sherpany");
		const call = main.module?.kustomization;
		t.equal(call?.source, "../kustomization", "calls the mapping module");
		for (const [name, block] of Object.entries(mapping)) {
			t.same(main.variable?.[name], block, `variable ${name} declared alike`);
			t.equal(call?.[name], `\${var.${name}}`, `variable ${name} passed on`);
		}
	},
);

t.test(
	"the example passes what the module declares, typed alike",
	async (t) => {
		const module = moduleBlocks("modules/sherpany").variable ?? {};
		const example = moduleBlocks("examples/complete");
		const call = example.module?.sherpany ?? {};
		t.equal(call.source, "../../modules/sherpany", "calls modules/sherpany");
		const normalize = (type: unknown) => String(type).replace(/\s+/g, " ");
		for (const [name, value] of Object.entries(call)) {
			if (name === "source") continue;
			t.ok(module[name], `module declares ${name}`);
			const passed = /^\$\{var\.(\w+)\}$/.exec(String(value))?.[1];
			if (passed)
				t.equal(
					normalize(example.variable?.[passed]?.type),
					normalize(module[name]?.type),
					`${name} has the module's type`,
				);
		}
		for (const [name, block] of Object.entries(module))
			if (!("default" in block))
				t.ok(name in call, `required variable ${name} is passed`);

		const tfvars = parsed.get(
			join(TERRAFORM_DIR, "examples/complete/terraform.tfvars.example"),
		) as Record<string, unknown>;
		for (const name of Object.keys(tfvars))
			t.ok(
				example.variable?.[name],
				`terraform.tfvars.example sets ${name}, a variable`,
			);
		for (const secret of ["database_passwords", "database_url"])
			t.notOk(secret in tfvars, `terraform.tfvars.example holds no ${secret}`);
	},
);

t.test("the default image tag is this release", async (t) => {
	for (const root of ROOTS) {
		const image = moduleBlocks(root).variable?.image;
		t.match(
			String(image?.type),
			new RegExp(
				`tag\\s*=\\s*optional\\(string, "${version.replaceAll(".", "\\.")}"\\)`,
			),
			`${root}: image.tag defaults to ${version}`,
		);
	}
});

async function listTerraformFiles(dir: string): Promise<string[]> {
	const found: string[] = [];
	for (const entry of await readdir(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) {
			if (entry.name !== ".terraform")
				found.push(...(await listTerraformFiles(path)));
		} else if (/\.tf$|\.tfvars(\.example)?$/.test(entry.name)) found.push(path);
	}
	return found.sort((a, b) =>
		relative(TERRAFORM_DIR, a).localeCompare(relative(TERRAFORM_DIR, b)),
	);
}

t.test("the README's variables table lists every variable", async (t) => {
	const readme = await readFile(join(TERRAFORM_DIR, "README.md"), "utf8");
	const listed = new Set(
		[...readme.matchAll(/^\| `(\w+)` +\|/gm)].map((match) => match[1]),
	);
	for (const name of Object.keys(
		moduleBlocks("modules/sherpany").variable ?? {},
	))
		t.ok(listed.has(name), `${name} is in deploy/terraform/README.md`);
});
