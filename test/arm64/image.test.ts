/**
 * What `npm run image` makes for two architectures: one manifest list
 * naming a linux/amd64 and a linux/arm64 image (`podman manifest inspect`),
 * the list's name resolving to this host's image for `podman run`, and the
 * arm64 image built as the amd64 one is: on its own Debian arm64 base, with
 * no shell, no package manager and one executable, an arm64 one.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import t from "tap";
import { arm64ImagesOrSkip } from "../helpers/emulator.ts";
import { imageOrSkip, inspectImage } from "../helpers/image.ts";
import { listFiles, saveImage } from "../helpers/image-files.ts";
import { podmanOk, runContainer } from "../helpers/podman.ts";

const ELF_MACHINE_AARCH64 = 183;
const run = promisify(execFile);

// Containers under qemu and mmdebstrap on a shared 2-core machine.
t.setTimeout(600_000);

const image = (await arm64ImagesOrSkip(t)) ? await imageOrSkip(t) : undefined;
if (image) {
	const amd64 = await inspectImage(image.id);
	const arm64 = await inspectImage(image.arm64Id);

	t.test("podman manifest inspect shows both platforms", async (t) => {
		const list = JSON.parse(
			await podmanOk(["manifest", "inspect", image.listId]),
		) as {
			manifests: {
				digest: string;
				platform: { os: string; architecture: string };
			}[];
		};
		t.same(
			list.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`),
			["linux/amd64", "linux/arm64"],
		);
		t.equal(amd64.Architecture, "amd64");
		t.equal(arm64.Architecture, "arm64");
		for (const [name, id] of [
			["amd64", image.id],
			["arm64", image.arm64Id],
		] as const) {
			const digest = (
				await podmanOk(["image", "inspect", id, "--format", "{{.Digest}}"])
			).trim();
			t.ok(
				list.manifests.some((m) => m.digest === digest),
				`the list holds the ${name} image built (${digest})`,
			);
		}
	});

	t.test("the list's name runs this host's image", async (t) => {
		t.equal(
			(await inspectImage(image.versioned)).Id,
			image.id,
			`${image.versioned} resolves to the amd64 image`,
		);
		const result = await runContainer(image.latest, ["--version"]);
		t.equal(result.code, 0, "podman run of the list exits 0", {
			stderr: result.stderr,
		});
		t.match(result.stdout, /^sherpany \d+\.\d+\.\d+ \(node 24\./);
	});

	t.test(
		"the arm64 image: its own base, no shell, one executable",
		async (t) => {
			t.match(
				arm64.Config.Labels?.["org.opencontainers.image.base.name"],
				/^localhost\/sherpany-base:bookworm-\d{8}-[0-9a-f]{8}-arm64$/,
			);
			t.not(arm64.RootFS.Layers[0], amd64.RootFS.Layers[0], "another base");
			t.same(arm64.Config.Entrypoint, amd64.Config.Entrypoint);
			t.same(arm64.Config.User, amd64.Config.User);
			const saved = await saveImage(t, image.arm64Id, arm64);
			const files = await listFiles(saved.layers);
			const executables = files
				.filter(
					(f) =>
						f.type === "-" && /x/.test(f.mode) && !/\.so(\.|$)/.test(f.path),
				)
				.filter((f) => !/ld-linux-aarch64\.so/.test(f.path))
				.map((f) => f.path);
			t.same(
				executables,
				["usr/local/bin/sherpany"],
				"nothing else to execute",
			);
			t.ok(
				files.some((f) =>
					/^(usr\/)?lib\/aarch64-linux-gnu\/libc\.so\.6$/.test(f.path),
				),
				"arm64's glibc",
			);
			t.notOk(
				files.some((f) =>
					/^(usr\/)?s?bin\/(sh|bash|dash|dpkg|apt)$/.test(f.path),
				),
				"no shell, no package manager",
			);
			// e_machine, at offset 18 of a little-endian ELF header.
			const { stdout: header } = await run(
				"sh",
				[
					"-c",
					'tar -xOf "$1" --wildcards "*usr/local/bin/sherpany" | head -c 20 | od -An -tu1',
					"sh",
					saved.layers.at(-1) ?? "",
				],
				{ encoding: "utf8" },
			);
			t.equal(
				Number(header.trim().split(/\s+/)[18]),
				ELF_MACHINE_AARCH64,
				"/usr/local/bin/sherpany is an aarch64 executable",
			);
			const shell = await runContainer(image.arm64Id, ["-c", "true"], {
				flags: ["--entrypoint", "/bin/sh"],
			});
			t.not(shell.code, 0, "podman run --entrypoint /bin/sh fails");
			t.match(shell.stderr, /\/bin\/sh.*no such file or directory/);
			const version = await runContainer(image.arm64Id, ["--version"]);
			t.equal(version.code, 0, "it runs, under qemu", {
				stderr: version.stderr,
			});
			t.match(version.stdout, /^sherpany \d+\.\d+\.\d+ \(node 24\./);
		},
	);
}
