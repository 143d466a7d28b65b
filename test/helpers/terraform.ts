/**
 * Runs the real `terraform` on `deploy/terraform/`, offline and without
 * writing into the repository: every run happens in a temp directory, with
 * its `TF_DATA_DIR`, state and CLI configuration in there too.
 *
 * Only the provider-free module `modules/kustomization` can run here (no
 * provider can be downloaded); {@link createMappingRoot} wraps it in a root
 * module that passes each variable through, so each choice of variables is
 * one `terraform apply`.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** `deploy/terraform/` of this checkout. */
export const TERRAFORM_DIR = fileURLToPath(
	new URL("../../deploy/terraform/", import.meta.url),
);

/** The provider-free module that maps variables to a kustomization. */
const MAPPING_MODULE = join(TERRAFORM_DIR, "modules/kustomization");

/** The terraform to run: `TERRAFORM`, else the first `terraform` on PATH. */
const TERRAFORM = process.env.TERRAFORM ?? "terraform";

/** Variables of the mapping module that hold secrets. */
const SENSITIVE = new Set([
	"database_passwords",
	"database_url",
	"api_token_hashes",
]);

/** Result of one terraform run. */
export interface TerraformResult {
	readonly code: number;
	readonly stdout: string;
	readonly stderr: string;
}

let found: Promise<string | undefined> | undefined;

/**
 * The version line of the terraform found, or undefined when there is none.
 * Terraform is not in Debian's archive, so a machine may lack it; callers
 * decide whether that skips or fails.
 */
export function findTerraform(): Promise<string | undefined> {
	found ??= runTerraform(process.cwd(), ["version"]).then(
		(result) =>
			result.code === 0 ? result.stdout.split("\n")[0]?.trim() : undefined,
		() => undefined,
	);
	return found;
}

/** Why the terraform steps are skipped, for the test output. */
const MISSING_TERRAFORM =
	"terraform is not installed (it is not in Debian's archive; .ci/run reports what `which terraform` finds): " +
	"skipping the steps that run it; install Terraform >= 1.9 or set TERRAFORM to run them";

/**
 * The reason to skip the steps that run terraform, when it is missing
 * outside CI. Under CI (`CI` set) it throws instead: these machines carry
 * terraform, and a suite must not go quiet there.
 */
export function skipWithoutTerraform(): string {
	if (process.env.CI)
		throw new Error(
			"terraform is not installed and CI is set, so this fails: put Terraform >= 1.9 on PATH or set TERRAFORM",
		);
	return MISSING_TERRAFORM;
}

/**
 * Runs terraform in `cwd` with an environment that keeps it offline, quiet
 * and out of the repository. Resolves with the exit code; rejects only when
 * terraform cannot be started.
 */
export function runTerraform(
	cwd: string,
	args: readonly string[],
	env: Readonly<Record<string, string>> = {},
): Promise<TerraformResult> {
	return new Promise((resolve, reject) => {
		const child = execFile(
			TERRAFORM,
			[...args],
			{
				cwd,
				env: {
					...process.env,
					TF_IN_AUTOMATION: "1",
					TF_INPUT: "0",
					CHECKPOINT_DISABLE: "1",
					NO_COLOR: "1",
					...env,
				},
				maxBuffer: 16 * 1024 * 1024,
				timeout: 120_000,
			},
			(error, stdout, stderr) => {
				if (error && typeof error.code !== "number") reject(error);
				else resolve({ code: child.exitCode ?? 1, stdout, stderr });
			},
		);
	});
}

/** A temp root module around `modules/kustomization`, initialised once. */
export interface MappingRoot {
	/** The root module's directory: the module's paths are relative to it. */
	readonly dir: string;
	/**
	 * Applies the module with these variables (omitted ones take the
	 * module's defaults) and returns its outputs, sensitive ones included.
	 * Rejects with terraform's error output when the apply fails.
	 */
	apply(variables: Readonly<Record<string, unknown>>): Promise<MappingOutputs>;
	/** Removes the temp directory. */
	close(): Promise<void>;
}

/** The outputs of `modules/kustomization`. */
interface MappingOutputs {
	readonly kustomization: Record<string, unknown>;
	readonly kustomization_yaml: string;
	readonly secret_literals: Record<string, string[]>;
	readonly components: string[];
	readonly secret_name: string;
	readonly backup: Record<string, unknown>;
	readonly data_objects: string[];
}

/** Variable names of `modules/kustomization`, which the root passes through. */
const MAPPING_VARIABLES = [
	"namespace",
	"image",
	"replicas",
	"log_level",
	"database",
	"credentials",
	"database_passwords",
	"database_url",
	"api_auth",
	"api_token_hashes",
	"ingress",
	"gateway",
	"dns_ip_blocks",
	"seed_job",
	"monitoring",
	"kubernetes_dir",
	"release",
	"backup",
] as const;

const OUTPUTS = [
	"kustomization",
	"kustomization_yaml",
	"secret_literals",
	"components",
	"secret_name",
	"backup",
	"data_objects",
] as const;

/**
 * Writes a root module in a temp dir that calls `modules/kustomization` by
 * a relative path (as `modules/sherpany` does; an absolute one would make
 * terraform copy the module and lose its path to deploy/kubernetes), and
 * runs `terraform init` there.
 */
export async function createMappingRoot(): Promise<MappingRoot> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-terraform-"));
	const dataDir = join(dir, ".terraform");
	const cliConfig = join(dir, "terraformrc");
	await writeFile(cliConfig, "");
	// No plugin cache, no credentials helper, no registry: nothing to download.
	const env = { TF_DATA_DIR: dataDir, TF_CLI_CONFIG_FILE: cliConfig };
	const root = {
		variable: Object.fromEntries(
			MAPPING_VARIABLES.map((name) => [
				name,
				{ type: "any", default: null, sensitive: SENSITIVE.has(name) },
			]),
		),
		module: {
			sherpany: {
				source: relative(dir, MAPPING_MODULE),
				...Object.fromEntries(
					MAPPING_VARIABLES.map((name) => [name, `\${var.${name}}`]),
				),
			},
		},
		output: Object.fromEntries(
			OUTPUTS.map((name) => [
				name,
				{ value: `\${module.sherpany.${name}}`, sensitive: true },
			]),
		),
	};
	await writeFile(join(dir, "main.tf.json"), JSON.stringify(root, null, 2));
	const init = await runTerraform(dir, ["init", "-backend=false"], env);
	if (init.code !== 0)
		throw new Error(`terraform init failed:\n${init.stderr || init.stdout}`);

	let runs = 0;
	return {
		dir,
		async apply(variables) {
			runs += 1;
			const casesDir = join(dir, "cases");
			await mkdir(casesDir, { recursive: true });
			const varFile = join(casesDir, `${runs}.tfvars.json`);
			const state = join(casesDir, `${runs}.tfstate`);
			await writeFile(varFile, JSON.stringify(variables));
			const applied = await runTerraform(
				dir,
				["apply", "-auto-approve", `-var-file=${varFile}`, `-state=${state}`],
				env,
			);
			if (applied.code !== 0)
				throw new Error(
					`terraform apply failed:\n${applied.stderr || applied.stdout}`,
				);
			const output = await runTerraform(
				dir,
				["output", "-json", `-state=${state}`],
				env,
			);
			if (output.code !== 0)
				throw new Error(`terraform output failed:\n${output.stderr}`);
			const values = JSON.parse(output.stdout) as Record<
				string,
				{ value: unknown }
			>;
			return Object.fromEntries(
				OUTPUTS.map((name) => [name, values[name]?.value]),
			) as unknown as MappingOutputs;
		},
		close: () => rm(dir, { recursive: true, force: true }),
	};
}
