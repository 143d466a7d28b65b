/**
 * What the built image is, read from podman: its configuration and labels,
 * its files (no shell, no package manager, nothing executable but the
 * binary), its layers (the same for two builds of one commit, the first
 * one the base's tarball) and its size against a budget.
 */
import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t from "tap";
import {
	healthcheckTest,
	imageOrSkip,
	inspectImage,
	rebuildImage,
} from "../helpers/image.ts";
import {
	fileInImage,
	gzipSize,
	listFiles,
	saveImage,
} from "../helpers/image-files.ts";
import { runContainer } from "../helpers/podman.ts";

/**
 * Size budgets, about 10% above what was measured when they were set
 * (image/README.md, "Size"): 136.3 MB uncompressed, 49.3 MB as gzipped
 * layers (the base 10.3 MB, 3.7 MB gzipped). Raise them on purpose, not by
 * accident. Raised once: the executable grew by 26.6 MB (126.0 -> 152.6 MB;
 * gzipped 45.6 -> 48.6 MB) when it began to ship a ready embedded data
 * directory (25.3 MB) and the deferred bundle's code cache (1.2 MB), so the
 * image is about 163 MB.
 */
const BUDGET = {
	imageBytes: 180_000_000,
	imageGzipBytes: 55_000_000,
	baseBytes: 12_000_000,
	baseGzipBytes: 4_500_000,
} as const;

const ROOT = new URL("../../", import.meta.url);
const pkg = JSON.parse(
	await readFile(new URL("package.json", ROOT), "utf8"),
) as { version: string; license: string };
const run = promisify(execFile);

// Containers, PGlite's initdb and mmdebstrap on a shared 2-core machine: the
// package's 180 s per file was once nearly used up (94 s) under a full run.
t.setTimeout(360_000);

const image = await imageOrSkip(t);
if (image) {
	const inspected = await inspectImage(image.id);
	const saved = await saveImage(t, image.id, inspected);

	t.test(
		"configuration: entrypoint, command, user, ports, volume, health check",
		async (t) => {
			const config = inspected.Config;
			t.same(config.Entrypoint, ["/usr/local/bin/sherpany"]);
			t.same(config.Cmd, ["serve"]);
			t.equal(config.User, "65532:65532", "a numeric non-root user and group");
			t.same(Object.keys(config.ExposedPorts ?? {}).sort(), [
				"8080/tcp",
				"9090/tcp",
			]);
			t.same(Object.keys(config.Volumes ?? {}), ["/var/lib/sherpany"]);
			t.ok(config.Env?.includes("SHERPANY_DATA_DIR=/var/lib/sherpany"));
			t.ok(config.Env?.includes("ADMIN_PORT=9090"));
			// serve's own default is 127.0.0.1 on the embedded database.
			t.ok(config.Env?.includes("HOST=0.0.0.0"), "HOST=0.0.0.0");
			t.ok(config.Env?.includes("ADMIN_HOST=0.0.0.0"), "ADMIN_HOST=0.0.0.0");
			t.same(healthcheckTest(inspected), [
				"CMD",
				"/usr/local/bin/sherpany",
				"check-health",
			]);
			t.equal(image.versioned, `localhost/sherpany:${pkg.version}`);
			t.equal(image.latest, "localhost/sherpany:latest");
			t.equal(inspected.Id, image.id, "the ID npm run image reported");
		},
	);

	t.test("OCI labels: version, revision, source, licenses", async (t) => {
		const labels = inspected.Config.Labels ?? {};
		const { stdout: head } = await run("git", ["rev-parse", "HEAD"], {
			cwd: ROOT,
		});
		t.equal(labels["org.opencontainers.image.version"], pkg.version);
		t.equal(labels["org.opencontainers.image.revision"], head.trim());
		t.match(labels["org.opencontainers.image.source"], /^https:\/\//);
		t.equal(labels["org.opencontainers.image.licenses"], pkg.license);
		t.match(
			labels["org.opencontainers.image.created"],
			/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
		);
		t.match(
			labels["org.opencontainers.image.base.name"],
			/^localhost\/sherpany-base:bookworm-\d{8}-[0-9a-f]{8}$/,
		);
		t.match(labels["io.github.sherpany.base.packages"], /(^| )libc6=2\.36-/);
	});

	t.test("files: no shell, no package manager, one executable", async (t) => {
		const files = await listFiles(saved.layers);
		t.same(
			files.filter((f) => /(^|\/)\.wh\./.test(f.path)).map((f) => f.path),
			[],
			"no layer deletes what another added",
		);
		const executables = files
			.filter(
				(f) => f.type === "-" && /x/.test(f.mode) && !/\.so(\.|$)/.test(f.path),
			)
			// ld.so is executable by design; it is the dynamic loader, not a tool.
			.filter((f) => !/ld-linux-x86-64\.so/.test(f.path))
			.map((f) => f.path);
		t.same(executables, ["usr/local/bin/sherpany"], "nothing else to execute");
		const forbidden =
			/^(usr\/)?s?bin\/(sh|bash|dash|busybox|dpkg|apt|apt-get|perl)$/;
		t.same(
			files.filter((f) => forbidden.test(f.path)).map((f) => f.path),
			[],
		);
		t.notOk(
			files.some((f) => f.path === "var/lib/dpkg/status"),
			"no dpkg database",
		);
		t.ok(
			files.some((f) => f.path === "var/lib/dpkg/status.d/libc6"),
			"package records for SBOM scanners",
		);
		t.ok(files.some((f) => f.path === "etc/ssl/certs/ca-certificates.crt"));
		t.ok(files.some((f) => f.path === "usr/share/zoneinfo/Europe/Zurich"));
		const binary = files.find((f) => f.path === "usr/local/bin/sherpany");
		t.equal(
			binary?.owner,
			"0/0",
			"the binary belongs to root, not to the app user",
		);
		const dataDir = files.find((f) => f.path === "var/lib/sherpany/");
		t.equal(
			dataDir?.owner,
			"65532/65532",
			"the data directory belongs to the app user",
		);

		const shell = await runContainer(image.id, ["-c", "true"], {
			flags: ["--entrypoint", "/bin/sh"],
		});
		t.not(shell.code, 0, "podman run --entrypoint /bin/sh fails");
		t.match(shell.stderr, /\/bin\/sh.*no such file or directory/);
		const passwd = await fileInImage(image.id, "etc/passwd");
		t.match(passwd, /^nonroot:x:65532:65532:/m);
	});

	t.test("the base has every shared library dist/sherpany links", async (t) => {
		const { stdout } = await run("ldd", [
			fileURLToPath(new URL("dist/sherpany", ROOT)),
		]);
		// "libstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x...)", and ld.so by path.
		const needed = [...stdout.matchAll(/^\s*(\S+\.so[.\d]*)(?: =>|\s+\()/gm)]
			.map((m) => m[1]?.split("/").pop() ?? "")
			.filter((name) => name && !name.startsWith("linux-vdso"));
		t.ok(
			needed.includes("libc.so.6") && needed.includes("libstdc++.so.6"),
			needed.join(" "),
		);
		const names = new Set(
			(await listFiles(saved.layers)).map((f) => f.path.split("/").pop()),
		);
		for (const library of needed) {
			t.ok(
				names.has(library),
				`${library} is in the image (else add its package to deploy/image/base-packages)`,
			);
		}
	});

	t.test(
		"layers: the base tarball, then the binary; a rebuild gives the same layers",
		async (t) => {
			const base = await inspectImage(
				inspected.Config.Labels?.["org.opencontainers.image.base.name"] ?? "",
			);
			t.equal(inspected.RootFS.Layers.length, 2, "base and binary");
			t.equal(inspected.RootFS.Layers[0], base.RootFS.Layers[0]);
			t.equal(
				inspected.RootFS.Layers[0],
				`sha256:${base.Config.Labels?.["io.github.sherpany.base.rootfs.sha256"]}`,
				"the base layer is the tarball mmdebstrap wrote",
			);
			const again = await rebuildImage();
			t.same(
				(await inspectImage(again.id)).RootFS.Layers,
				inspected.RootFS.Layers,
			);
		},
	);

	t.test("size within budget", async (t) => {
		const layers = saved.layers;
		const sizes = await Promise.all(
			layers.map(async (file) => ({
				bytes: (await stat(file)).size,
				gzip: await gzipSize(file),
			})),
		);
		const total = {
			bytes: inspected.Size,
			gzip: sizes.reduce((sum, s) => sum + s.gzip, 0),
		};
		const base = sizes[0] ?? { bytes: 0, gzip: 0 };
		t.comment(
			`image ${mb(total.bytes)} MB uncompressed, ${mb(total.gzip)} MB as gzipped layers; ` +
				`base layer ${mb(base.bytes)} MB, ${mb(base.gzip)} MB gzipped`,
		);
		t.ok(
			total.bytes <= BUDGET.imageBytes,
			`image ${mb(total.bytes)} MB <= ${mb(BUDGET.imageBytes)} MB`,
		);
		t.ok(
			total.gzip <= BUDGET.imageGzipBytes,
			`gzipped ${mb(total.gzip)} MB <= ${mb(BUDGET.imageGzipBytes)} MB`,
		);
		t.ok(
			base.bytes <= BUDGET.baseBytes,
			`base ${mb(base.bytes)} MB <= ${mb(BUDGET.baseBytes)} MB`,
		);
		t.ok(
			base.gzip <= BUDGET.baseGzipBytes,
			`base gzipped ${mb(base.gzip)} MB <= ${mb(BUDGET.baseGzipBytes)} MB`,
		);
		t.ok(base.bytes > 1_000_000, "the base holds more than nothing");
	});
}

function mb(bytes: number): string {
	return (bytes / 1e6).toFixed(1);
}
