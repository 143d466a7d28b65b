/**
 * Runs `deploy/ansible`'s tools the way an operator would: from that
 * directory (so its ansible.cfg, .ansible-lint and .yamllint apply), with no
 * kubeconfig and a throwaway HOME, so that nothing here can reach a cluster.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Test } from "tap";
import { type KubeObject, parseObjects } from "./kustomize.ts";

/** `deploy/ansible/` of this checkout. */
export const ANSIBLE_DIR = fileURLToPath(
	new URL("../../deploy/ansible/", import.meta.url),
);

/** The commands the Ansible suites run, all from Debian's archive. */
const TOOLS = ["ansible-playbook", "ansible-lint", "yamllint"] as const;

const INSTALL_HINT =
	"run `sudo bash .ci/install-ansible.sh` (Debian's ansible, ansible-lint, yamllint and python3-kubernetes) to test deploy/ansible";

/** What a finished command left behind. */
export interface ToolResult {
	readonly code: number;
	readonly stdout: string;
	readonly stderr: string;
}

/** Options of {@link runTool}. */
export interface RunToolOptions {
	/** Working directory; `deploy/ansible/` by default. */
	readonly cwd?: string;
	/** Text for the command's standard input. */
	readonly input?: string;
	/** Milliseconds before the command is killed. */
	readonly timeout?: number;
}

/**
 * Returns true when every Ansible tool is on PATH. Otherwise it fails when
 * `CI` is set and else skips the rest of `t` with a message naming the
 * install script.
 */
export async function ansibleOrSkip(t: Test): Promise<boolean> {
	const missing: string[] = [];
	const found = new Map<string, string>();
	for (const tool of TOOLS) {
		const path = await onPath(tool);
		if (path) found.set(tool, path);
		else missing.push(tool);
	}
	// What the kubernetes.core modules import, on the Python that runs
	// ansible-playbook (its shebang), not whichever python3 is first on PATH.
	const playbook = found.get("ansible-playbook");
	if (playbook && !(await importsKubernetes(playbook)))
		missing.push("python3-kubernetes");
	if (missing.length === 0) return true;
	const message = `${missing.join(", ")} not installed: ${INSTALL_HINT}`;
	if (process.env.CI) throw new Error(`${message} (CI is set, so this fails)`);
	t.plan(0, message);
	return false;
}

/** Runs one tool; resolves with its exit code and output, whatever the code. */
export function runTool(
	file: string,
	args: readonly string[],
	options: RunToolOptions = {},
): Promise<ToolResult> {
	return new Promise((resolve, reject) => {
		const child = execFile(
			file,
			[...args],
			{
				cwd: options.cwd ?? ANSIBLE_DIR,
				env: toolEnv(),
				maxBuffer: 64 * 1024 * 1024,
				timeout: options.timeout ?? 170_000,
			},
			(error, stdout, stderr) => {
				const code = error ? error.code : 0;
				if (typeof code !== "number")
					reject(new Error(`${file} did not run: ${error?.message}`));
				else resolve({ code, stdout, stderr });
			},
		);
		child.stdin?.end(options.input ?? "");
	});
}

/** What a `--tags render` run wrote, and how its play recap counted. */
export interface Rendered {
	/** The objects of `<render dir>/<host>/objects.yaml`, per inventory host. */
	readonly objects: Record<string, KubeObject[]>;
	/** `changed=` of the play recap, per host. */
	readonly changed: Record<string, number>;
	readonly result: ToolResult;
}

/** Options of {@link renderWithAnsible}. */
export interface RenderOptions {
	/**
	 * The inventory: by default `localhost,` with `-c local`, as the README's
	 * "render without a cluster" command; else a path under deploy/ansible.
	 */
	readonly inventory?: string;
	/** Where the role writes (one folder per host), and it stays; by default a temp dir, removed after. */
	readonly renderDir?: string;
	/** Resolve with the failed run instead of throwing (objects are then empty). */
	readonly allowFailure?: boolean;
}

/**
 * Runs `ansible-playbook site.yml --tags render` with `vars` as extra vars
 * and returns what it wrote for each host of the inventory. Throws with the
 * play's output when it fails, unless `allowFailure`.
 */
export async function renderWithAnsible(
	vars: Record<string, unknown>,
	options: RenderOptions = {},
): Promise<Rendered> {
	const scratch = await mkdtemp(join(tmpdir(), "sherpany-ansible-"));
	try {
		const renderDir = options.renderDir ?? join(scratch, "rendered");
		const varsFile = join(scratch, "vars.json");
		await writeFile(
			varsFile,
			JSON.stringify({
				...vars,
				sherpany_render_dir: join(renderDir, "{{ inventory_hostname }}"),
			}),
		);
		const inventory = options.inventory
			? ["-i", options.inventory]
			: ["-i", "localhost,", "-c", "local"];
		const result = await runTool("ansible-playbook", [
			...inventory,
			"--tags",
			"render",
			"-e",
			`@${varsFile}`,
			"site.yml",
		]);
		const changed = parseRecap(result.stdout);
		if (result.code !== 0) {
			if (options.allowFailure) return { objects: {}, changed, result };
			throw new Error(
				`ansible-playbook --tags render exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
			);
		}
		const objects: Record<string, KubeObject[]> = {};
		for (const host of Object.keys(changed))
			objects[host] = parseObjects(
				await readFile(join(renderDir, host, "objects.yaml"), "utf8"),
			);
		return { objects, changed, result };
	} finally {
		await rm(scratch, { recursive: true, force: true });
	}
}

/** `changed=` per host from a play recap. */
function parseRecap(stdout: string): Record<string, number> {
	const changed: Record<string, number> = {};
	for (const match of stdout.matchAll(/^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)/gm))
		changed[match[1] as string] = Number(match[2]);
	return changed;
}

/**
 * The environment of every tool: a kubeconfig that does not exist (the
 * Kubernetes client reads KUBECONFIG before ~/.kube/config), so a render
 * that reached for a cluster would fail; and no colour codes in the output.
 */
function toolEnv(): NodeJS.ProcessEnv {
	return {
		...process.env,
		KUBECONFIG: join(tmpdir(), "sherpany-no-such-kubeconfig"),
		K8S_AUTH_KUBECONFIG: join(tmpdir(), "sherpany-no-such-kubeconfig"),
		ANSIBLE_NOCOLOR: "1",
		ANSIBLE_FORCE_COLOR: "0",
		NO_COLOR: "1",
		PY_COLORS: "0",
	};
}

/** The path of `command` on PATH, or undefined. */
async function onPath(command: string): Promise<string | undefined> {
	for (const dir of (process.env.PATH ?? "").split(delimiter)) {
		if (!dir) continue;
		try {
			await access(join(dir, command), constants.X_OK);
			return join(dir, command);
		} catch {
			// Not in this directory.
		}
	}
	return undefined;
}

/** Whether the interpreter of a Python script's shebang can import the Kubernetes client. */
async function importsKubernetes(script: string): Promise<boolean> {
	const shebang = /^#!\s*(\S+)/.exec(await readFile(script, "utf8"))?.[1];
	if (!shebang) return false;
	return (await runTool(shebang, ["-c", "import kubernetes"])).code === 0;
}
