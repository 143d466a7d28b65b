/**
 * Runs, here, the commands of `.github/workflows/release.yml` that need no
 * registry, exactly as the workflow writes them (each step's `run:`, taken
 * from the file, through bash as GitHub runs it), on a copy of what the
 * build job uploads:
 *
 * - the npm SBOM lists the runtime packages bundled into the executable (all
 *   of package-lock.json's non-development entries), at
 *   the versions package.json pins, and no development tool;
 * - the render step pins every app container of the release overlay to the
 *   pushed digest (a made-up one here) and PostgreSQL's image to its own, so
 *   that the published manifests can be applied as they are.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Test } from "tap";
import t from "tap";
import { parse } from "yaml";
import {
	checkKubectl,
	findObject,
	KUBERNETES_DIR,
	parseObjects,
} from "../helpers/kustomize.ts";
import { lintWorkflow } from "../helpers/workflow-lint.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PATH = ".github/workflows/release.yml";
const linted = await lintWorkflow(
	PATH,
	await readFile(`${ROOT}${PATH}`, "utf8"),
);

/** The `run:` of the step `id` of job `jobId`, as the workflow has it. */
function script(jobId: string, id: string): string {
	const step = linted.jobs
		.find((job) => job.id === jobId)
		?.steps.find((s) => s.id === id);
	if (!step?.run) throw new Error(`no run step ${jobId}.${id} in ${PATH}`);
	return step.run;
}

/** Runs a step's script in `cwd` the way GitHub runs `run:` (bash -eo pipefail). */
function runStep(source: string, cwd: string, env: Record<string, string>) {
	return run(
		"bash",
		["--noprofile", "--norc", "-eo", "pipefail", "-c", source],
		{
			cwd,
			env: { ...process.env, ...env },
			maxBuffer: 64 * 1024 * 1024,
		},
	);
}

/** A temp dir laid out as the workflow's workspace; removed after the test. */
async function workspace(t: Test): Promise<string> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-release-"));
	t.teardown(() => rm(dir, { recursive: true, force: true }));
	await mkdir(join(dir, "release"));
	return dir;
}

t.test(
	"the npm SBOM lists the bundled packages at their pinned versions",
	async (t) => {
		const dir = await workspace(t);
		for (const file of ["package.json", "package-lock.json"])
			await cp(join(ROOT, file), join(dir, file));
		await runStep(script("build", "npm-sbom"), dir, {});
		const sbom = JSON.parse(
			await readFile(join(dir, "release/sbom-npm.spdx.json"), "utf8"),
		) as {
			spdxVersion: string;
			packages: { name: string; versionInfo: string }[];
		};
		t.equal(sbom.spdxVersion, "SPDX-2.3");
		const pkg = JSON.parse(
			await readFile(join(ROOT, "package.json"), "utf8"),
		) as {
			dependencies: Record<string, string>;
			devDependencies: Record<string, string>;
		};
		const listed = new Map(sbom.packages.map((p) => [p.name, p.versionInfo]));
		for (const name of ["koa", "pg", "@electric-sql/pglite"]) {
			t.match(pkg.dependencies[name], /^\d+\.\d+\.\d+/, `${name} is pinned`);
			t.equal(listed.get(name), pkg.dependencies[name], `${name} at its pin`);
		}
		for (const name of Object.keys(pkg.dependencies))
			t.equal(listed.get(name), pkg.dependencies[name], `${name} listed`);
		const lock = JSON.parse(
			await readFile(join(ROOT, "package-lock.json"), "utf8"),
		) as { packages: Record<string, { dev?: boolean }> };
		const files = new Set(
			sbom.packages.map(
				(p) => (p as { packageFileName?: string }).packageFileName,
			),
		);
		const runtime = Object.entries(lock.packages)
			.filter(([path, entry]) => path !== "" && !entry.dev)
			.map(([path]) => path);
		t.same(
			runtime.filter((path) => !files.has(path)),
			[],
			"every runtime package of package-lock.json is listed",
		);
		for (const name of ["esbuild", "tap", "typescript", "@biomejs/biome"])
			t.notOk(listed.has(name), `${name}, a development tool, is left out`);
	},
);

t.test(
	"the release overlay renders pinned to the pushed digests",
	async (t) => {
		await checkKubectl();
		const dir = await workspace(t);
		await cp(KUBERNETES_DIR, join(dir, "release/kubernetes"), {
			recursive: true,
		});
		const env: Record<string, string> = {
			IMAGE: "ghcr.io/example-owner/sherpany",
			VERSION: "9.8.7",
			DIGEST: `sha256:${"ab12".repeat(16)}`,
			POSTGRES_DIGEST: `sha256:${"cd34".repeat(16)}`,
		};
		// The workflow's kubectl is the runner's; here, the one the other
		// manifest tests use.
		if (process.env.KUBECTL) {
			await mkdir(join(dir, "bin"));
			await symlink(process.env.KUBECTL, join(dir, "bin/kubectl"));
			env.PATH = `${join(dir, "bin")}${delimiter}${process.env.PATH}`;
		}

		// The first line of the resolve step finds the image the component names.
		const resolve = script("publish", "postgres").split("\n")[0] ?? "";
		t.match(resolve, /^image=\$\(sed /);
		await runStep(`${resolve}\necho "$image"`, dir, env).then(({ stdout }) => {
			env.POSTGRES_IMAGE = stdout.trim();
		});
		const cluster = parse(
			await readFile(
				join(KUBERNETES_DIR, "components/cloudnativepg/cluster.yaml"),
				"utf8",
			),
		) as { spec: { imageName: string } };
		t.equal(env.POSTGRES_IMAGE, cluster.spec.imageName);

		await runStep(script("publish", "render"), dir, env);
		const text = await readFile(
			join(dir, "release/sherpany-9.8.7.yaml"),
			"utf8",
		);
		const objects = parseObjects(text);
		t.notMatch(text, /sha256:0{64}/, "no placeholder digest is left");

		const images = objects.flatMap((object) => {
			const json = JSON.stringify(object);
			return [...json.matchAll(/"image":"([^"]+)"/g)].map((m) => m[1]);
		});
		t.ok(images.length >= 2, "the app's containers (migrate, serve, ...)");
		for (const image of images)
			t.equal(image, `ghcr.io/example-owner/sherpany@${env.DIGEST}`);
		const deployment = findObject<{
			spec: { template: { spec: { containers: { image: string }[] } } };
		}>(objects, "Deployment", "sherpany");
		t.equal(
			deployment.spec.template.spec.containers[0]?.image,
			`ghcr.io/example-owner/sherpany@${env.DIGEST}`,
		);
		const db = findObject<{ spec: { imageName: string } }>(
			objects,
			"Cluster",
			"sherpany-db",
		);
		t.equal(db.spec.imageName, `${env.POSTGRES_IMAGE}@${env.POSTGRES_DIGEST}`);
	},
);
