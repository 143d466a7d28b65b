/**
 * `.github/workflows/release.yml` cannot run here (no GitHub, no registry),
 * so it is linted with GitHub's own workflow parser and checked for what the
 * release promises: it fires on version tags only, builds and tests through
 * the same scripts as CI (`.ci/run`, `npm run image`), pushes the image to
 * GHCR, and attests an SBOM and the build provenance, with every action
 * pinned to a commit.
 */
import { access, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import t from "tap";
import { lintWorkflow } from "../helpers/workflow-lint.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PATH = ".github/workflows/release.yml";
const text = await readFile(`${ROOT}${PATH}`, "utf8");
const linted = await lintWorkflow(PATH, text);
const steps = linted.jobs.flatMap((job) => job.steps);
const runs = steps.map((step) => step.run ?? "").join("\n");

t.test("GitHub's workflow parser finds no error", async (t) => {
	t.same(linted.errors, []);
	t.equal(linted.jobs.length, 1, "one job");
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
	"it builds and tests with CI's scripts, then pushes with podman",
	async (t) => {
		t.match(runs, /bash \.ci\/run/);
		t.match(runs, /npm run image/);
		t.match(runs, /image\/podman\.sh push .*--digestfile/s);
		t.match(
			runs,
			/"localhost\/sherpany:\$VERSION" "docker:\/\/\$IMAGE:\$VERSION"/,
		);
		t.match(text, /IMAGE: ghcr\.io\//);
		for (const file of [".ci/run", "image/build.sh", "image/podman.sh"]) {
			await t.resolves(access(`${ROOT}${file}`), `${file} exists`);
		}
	},
);

t.test("SBOM and provenance for the pushed digest", async (t) => {
	const uses = steps.map((step) => step.uses ?? "");
	t.ok(
		uses.some((u) => u.startsWith("anchore/sbom-action@")),
		"syft SBOM",
	);
	t.equal(
		uses.filter((u) => u.startsWith("actions/attest@")).length,
		2,
		"provenance and SBOM attestations",
	);
	t.match(text, /sbom-path: sbom\.spdx\.json/);
	t.match(text, /subject-digest: \$\{\{ steps\.push\.outputs\.digest \}\}/);
	t.match(text, /push-to-registry: true/);
});

t.test(
	"every action is pinned to a commit, and permissions are least privilege",
	async (t) => {
		const actions = steps.filter((step) => step.uses);
		t.ok(actions.length >= 4);
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
		t.match(text, /^permissions: \{\}$/m, "no permission by default");
		for (const scope of [
			"packages: write",
			"id-token: write",
			"attestations: write",
			"contents: read",
		]) {
			t.match(text, new RegExp(`^ {6}${scope}`, "m"), scope);
		}
	},
);
