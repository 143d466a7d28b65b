/**
 * `.github/workflows/release.yml` cannot run here (no GitHub, no registry),
 * so it is linted with GitHub's own workflow parser and checked for what the
 * release promises: it fires on version tags only, builds and tests through
 * the same scripts as CI (`.ci/run`, `npm run image`) in a job that can only
 * read, and publishes from a second job that holds the write permissions and
 * runs no project code: it pushes the manifest list to GHCR, attests the
 * build provenance and both SBOMs, with every action pinned to a commit.
 * release-commands.test.ts runs the commands that can run here.
 */
import { access, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import t from "tap";
import { parse } from "yaml";
import { lintWorkflow } from "../helpers/workflow-lint.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PATH = ".github/workflows/release.yml";
const text = await readFile(`${ROOT}${PATH}`, "utf8");
const linted = await lintWorkflow(PATH, text);
const steps = linted.jobs.flatMap((job) => job.steps);
const runs = steps.map((step) => step.run ?? "").join("\n");

/** The raw jobs, for what the linted form leaves out (permissions, needs, with). */
interface RawJob {
	readonly needs?: string | string[];
	readonly permissions?: Record<string, string>;
	readonly steps: {
		uses?: string;
		run?: string;
		with?: Record<string, unknown>;
	}[];
}
const raw = parse(text) as { jobs: Record<string, RawJob> };

function job(id: string) {
	const found = linted.jobs.find((j) => j.id === id);
	if (!found) throw new Error(`no job ${id} in ${PATH}`);
	return { ...found, raw: raw.jobs[id] as RawJob };
}

/**
 * The command each simple command of a bash script starts with: heredoc
 * bodies dropped, continued lines joined, split at newlines, `;`, `&&`, `||`,
 * `|` and `$(`, leading `VAR=value` assignments skipped.
 */
function commandNames(script: string): string[] {
	return script
		.replace(/<<-?'?(\w+)'?[^\n]*\n[\s\S]*?\n\s*\1\s*(?=\n|$)/g, "")
		.replace(/\\\n/g, " ")
		.split(/\n|;|&&|\|\||\||\$\(|`/)
		.map((command) =>
			command
				.trim()
				.replace(/^[({]\s*/, "")
				.split(/\s+/)
				.find((word) => !/^\w+=/.test(word)),
		)
		.filter((word): word is string => Boolean(word))
		.map((word) => word.replace(/\)+$/, ""));
}

t.test("GitHub's workflow parser finds no error", async (t) => {
	t.same(linted.errors, []);
	t.same(
		linted.jobs.map((j) => j.id),
		["build", "publish"],
		"a build job and a publish job",
	);
});

t.test("the linter does fail a broken workflow", async (t) => {
	const broken = text
		.replace("permissions: {}", "permissions: { packagez: write }")
		.replace("{{ env.IMAGE }}", "{{ env.IMAGE ) }}");
	const result = await lintWorkflow(PATH, broken);
	t.match(result.errors.join("\n"), /packagez/);
	t.match(result.errors.join("\n"), /Unexpected symbol/);
});

t.test("it runs on version tags only", async (t) => {
	t.same(Object.keys(linted.events), ["push"]);
	t.same(linted.events.push, { tags: ["v[0-9]+.[0-9]+.[0-9]+"] });
	t.match(
		runs,
		/"v\$version" != "\$GITHUB_REF_NAME"/,
		"the tag must be the package version",
	);
});

t.test(
	"build tests with CI's scripts and uploads the manifest list, binaries, SBOM and manifests",
	async (t) => {
		const build = job("build");
		const buildRuns = build.steps.map((s) => s.run ?? "").join("\n");
		t.match(buildRuns, /bash \.ci\/run/);
		t.match(buildRuns, /npm run image/);
		t.match(
			buildRuns,
			/image\/podman\.sh manifest push --all\s+\\?\s*"localhost\/sherpany:\$VERSION" "oci-archive:\$PWD\/release\/image\.oci\.tar"/,
			"every platform's image, as the manifest list",
		);
		for (const file of [
			"release/sherpany-linux-x64",
			"release/sherpany-linux-arm64",
			"release/kubernetes",
			"release/sbom-npm.spdx.json",
		])
			t.ok(buildRuns.includes(file), `collects ${file}`);
		const upload = build.raw.steps.find((s) =>
			s.uses?.startsWith("actions/upload-artifact@"),
		);
		t.same(
			{ name: upload?.with?.name, path: upload?.with?.path },
			{ name: "release", path: "release/" },
		);
		for (const file of [
			".ci/run",
			"deploy/image/build.sh",
			"deploy/image/podman.sh",
		]) {
			await t.resolves(access(`${ROOT}${file}`), `${file} exists`);
		}
	},
);

t.test("build can only read; publish alone can write", async (t) => {
	t.same(job("build").raw.permissions, { contents: "read" });
	t.same(job("publish").raw.permissions, {
		contents: "write",
		packages: "write",
		"id-token": "write",
		attestations: "write",
		"artifact-metadata": "write",
	});
	t.same([job("publish").raw.needs].flat(), ["build"]);
	t.match(text, /^permissions: \{\}$/m, "no permission by default");
	t.match(
		raw.jobs.build?.steps[0]?.with,
		{ "persist-credentials": false },
		"the checkout keeps no token",
	);
});

t.test("publish runs no project code", async (t) => {
	const publish = job("publish");
	const allowed = [
		"actions/download-artifact@",
		"docker/login-action@",
		"anchore/sbom-action@",
		"actions/attest@",
	];
	for (const step of publish.steps.filter((s) => s.uses)) {
		t.ok(
			allowed.some((prefix) => step.uses?.startsWith(prefix)),
			`${step.uses} is one of the publishing actions (no checkout, no setup-node, no local action)`,
		);
	}
	const publishRuns = publish.steps.map((s) => s.run ?? "").join("\n");
	t.same(
		[...new Set(commandNames(publishRuns))].sort(),
		[
			"cat",
			"cut",
			"echo",
			"gh",
			"kubectl",
			"mkdir",
			"mktemp",
			"sed",
			"set",
			"sha256sum",
			"skopeo",
		],
		"only the runner's tools: no npm, no node, no script or binary of the project's",
	);
	t.match(
		publishRuns,
		/skopeo copy --all --preserve-digests\s+\\?\s*--authfile "\$HOME\/\.docker\/config\.json" --digestfile "\$digestfile"\s+\\?\s*oci-archive:release\/image\.oci\.tar "docker:\/\/\$IMAGE:\$VERSION"/,
		"pushes the manifest list from the archive, digests unchanged",
	);
});

t.test("the separation check catches project code in publish", async (t) => {
	for (const line of [
		"npm ci",
		"sudo bash .ci/run",
		"./release/sherpany-linux-x64 migrate",
		'x=$(node -p 1) && echo "$x"',
	])
		t.ok(
			commandNames(`echo ok\n${line}`).some((name) => name !== "echo"),
			`${line} is seen`,
		);
	const tainted = text.replace(
		"      - name: Push the manifest list to GHCR\n",
		"      - run: npm ci\n      - name: Push the manifest list to GHCR\n",
	);
	t.not(tainted, text);
	const result = await lintWorkflow(PATH, tainted);
	const publishRuns = (result.jobs.find((j) => j.id === "publish")?.steps ?? [])
		.map((s) => s.run ?? "")
		.join("\n");
	t.ok(commandNames(publishRuns).includes("npm"), "an injected npm is seen");
});

t.test("SBOMs and provenance for the pushed index's digest", async (t) => {
	const publish = job("publish");
	const uses = publish.steps.map((step) => step.uses ?? "");
	t.ok(
		uses.some((u) => u.startsWith("anchore/sbom-action@")),
		"syft SBOM of the image",
	);
	const attests = publish.raw.steps.filter((s) =>
		s.uses?.startsWith("actions/attest@"),
	);
	t.same(
		attests.map(
			(s) => s.with?.["sbom-path"] ?? s.with?.["subject-path"] ?? "provenance",
		),
		[
			"provenance",
			"release/sbom-image.spdx.json",
			"release/sbom-npm.spdx.json",
			"release/sherpany-linux-*",
		],
		"provenance of the image, both SBOMs, provenance of the binaries",
	);
	for (const step of attests.filter((s) => !s.with?.["subject-path"])) {
		t.equal(
			step.with?.["subject-digest"],
			// biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression
			"${{ steps.push.outputs.digest }}",
		);
		t.equal(step.with?.["push-to-registry"], true);
	}
	const release = publish.steps.find((s) => s.id === "release")?.run ?? "";
	for (const asset of [
		"release/sherpany-linux-x64",
		"release/sherpany-linux-arm64",
		"release/sbom-image.spdx.json",
		"release/sbom-npm.spdx.json",
		'"release/sherpany-$VERSION.yaml"',
	])
		t.ok(release.includes(asset), `the release carries ${asset}`);
});

t.test("every action is pinned to a commit", async (t) => {
	const actions = steps.filter((step) => step.uses);
	t.ok(actions.length >= 6);
	for (const step of actions) {
		t.match(
			step.uses,
			/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/,
			`${step.uses} pinned by SHA`,
		);
	}
	for (const line of text.split("\n").filter((l) => /uses: /.test(l))) {
		t.match(line, /# v\d+\.\d+\.\d+$/, "the pinned release is named");
	}
});
