/**
 * The base images' root filesystems, amd64's and arm64's, are reproducible:
 * two runs of `deploy/image/base.sh [--arch arm64] --tar` (mmdebstrap, from
 * Debian's archive) write byte-identical tarballs, holding that
 * architecture's libraries and no program at all. And the Dockerfile's
 * default base is the tag base.sh maintains.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t from "tap";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BASE_SCRIPT = join(ROOT, "deploy", "image", "base.sh");
const run = promisify(execFile);

// mmdebstrap twice per architecture, on a shared 2-core machine: more than
// the package's 180 s per file may be needed under a full run.
t.setTimeout(600_000);

t.test(
	"the Dockerfile's default base is the moving tag base.sh sets",
	async (t) => {
		const dockerfile = await readFile(
			join(ROOT, "deploy", "image", "Dockerfile"),
			"utf8",
		);
		t.match(dockerfile, /^ARG BASE_IMAGE=localhost\/sherpany-base:bookworm$/m);
		const { stdout } = await run("bash", [BASE_SCRIPT, "--print-ref"]);
		t.match(
			stdout.trim(),
			/^localhost\/sherpany-base:bookworm-\d{8}-[0-9a-f]{8}$/,
		);
		const arm64 = await run("bash", [
			BASE_SCRIPT,
			"--arch",
			"arm64",
			"--print-ref",
		]);
		t.equal(arm64.stdout.trim(), `${stdout.trim()}-arm64`, "arm64's tag");
	},
);

const mmdebstrap = await run("sh", ["-c", "command -v mmdebstrap"]).then(
	() => true,
	() => false,
);
const MISSING_MMDEBSTRAP =
	"mmdebstrap is not installed: run `sudo bash .ci/install-podman.sh` to test the base build";
if (!mmdebstrap) {
	// CI installs it: there a missing one fails the run.
	if (process.env.CI)
		throw new Error(`${MISSING_MMDEBSTRAP} (CI is set, so this fails)`);
	t.test(MISSING_MMDEBSTRAP, { skip: MISSING_MMDEBSTRAP }, () => {});
} else {
	for (const [arch, triplet] of [
		["amd64", "x86_64-linux-gnu"],
		["arm64", "aarch64-linux-gnu"],
	] as const)
		t.test(
			`${arch}: two builds of the base root filesystem are byte-identical`,
			async (t) => {
				const dir = await mkdtemp(join(tmpdir(), "sherpany-base-test-"));
				t.teardown(() => rm(dir, { recursive: true, force: true }));
				const digests: string[] = [];
				for (const name of ["first.tar", "second.tar"]) {
					const file = join(dir, name);
					await run("bash", [BASE_SCRIPT, "--arch", arch, "--tar", file], {
						timeout: 300_000,
					});
					digests.push(await sha256(file));
				}
				t.equal(digests[1], digests[0], `sha256 ${digests[0]}`);
				const { stdout } = await run("tar", ["-tf", join(dir, "first.tar")], {
					maxBuffer: 16 * 1024 * 1024,
				});
				const paths = stdout.split("\n");
				t.ok(
					paths.includes(`./lib/${triplet}/libc.so.6`) ||
						paths.includes(`./usr/lib/${triplet}/libc.so.6`),
					"glibc is there",
				);
				t.ok(
					paths.includes(`./usr/lib/${triplet}/libstdc++.so.6`),
					"libstdc++ is there",
				);
				t.notOk(
					paths.some((p) => /^\.\/(usr\/)?s?bin\/./.test(p)),
					"no programs at all: no shell",
				);
			},
		);
}

function sha256(file: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const hash = createHash("sha256");
		createReadStream(file)
			.on("error", reject)
			.on("data", (chunk) => hash.update(chunk))
			.on("end", () => resolve(hash.digest("hex")));
	});
}
