/**
 * The built `dist/sherpany` with nothing beside it: `--help`, `--version` and
 * usage errors, which must not touch any database.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { exists, requireFreshBinary, sandbox } from "../helpers/binary.ts";

const VERSION_LINE = /^sherpany \d+\.\d+\.\d+ \(node 24\.\d+\.\d+\)\n$/;

await requireFreshBinary();

t.test("--help and --version, with nothing but the binary", async (t) => {
	const box = await sandbox(t);
	for (const flag of ["--version", "-V"]) {
		const result = await box.run([flag]);
		t.equal(result.code, 0, `${flag} exits 0`);
		t.match(result.stdout, VERSION_LINE, `${flag} names version and runtime`);
		t.equal(result.stderr, "");
	}

	const help = await box.run(["--help"]);
	t.equal(help.code, 0, "--help exits 0");
	t.equal(help.stderr, "");
	t.match(help.stdout, /^Usage: sherpany \[options\] \[command\]\n/);
	for (const command of ["serve", "migrate", "seed", "check-health"])
		t.match(help.stdout, new RegExp(`^ {2}${command} `, "m"), command);

	const serveHelp = await box.run(["serve", "--help"]);
	t.equal(serveHelp.code, 0, "serve --help exits 0");
	t.match(serveHelp.stdout, /^Usage: sherpany serve \[options\]\n/);
	for (const name of ["PORT", "DATABASE_URL", "SHERPANY_DATA_DIR", "HOST"])
		t.match(serveHelp.stdout, name, `serve --help names ${name}`);

	const unknown = await box.run(["serve", "--no-such-flag"]);
	t.equal(unknown.code, 2, "an unknown flag exits 2");
	t.match(unknown.stderr, /unknown option '--no-such-flag'/);
	t.equal(unknown.stdout, "");

	t.notOk(
		await exists(join(box.dir, ".sherpany")),
		"no data directory made by --help or --version",
	);
	t.same(
		(await readdir(box.dir)).sort(),
		["sherpany"],
		"the binary is alone in its directory",
	);
});

t.test(
	"check-health answers alike from the launcher and through the CLI",
	async (t) => {
		const box = await sandbox(t);
		// Port 1 on loopback: nothing listens, the connection is refused.
		// `--port 1` is the probe's plain form, answered by the launcher
		// alone (src/binary.ts); `--port=1` goes through commander.
		const probe = await box.run(["check-health", "--port", "1"]);
		const cli = await box.run(["check-health", "--port=1"]);
		for (const [name, result] of [
			["--port 1", probe],
			["--port=1", cli],
		] as const) {
			t.equal(result.code, 1, `${name} exits 1`);
			t.equal(
				result.stderr,
				"sherpany: unhealthy: http://127.0.0.1:1/health unreachable (ECONNREFUSED)\n",
				`${name} says why`,
			);
			t.equal(result.stdout, "");
		}

		const help = await box.run(["check-health", "--help"]);
		t.equal(help.code, 0, "check-health --help exits 0");
		t.match(help.stdout, /^Usage: sherpany check-health \[options\]\n/);

		const bad = await box.run(["check-health", "--timeout-ms", "0"]);
		t.equal(bad.code, 2, "a bad setting on the probe's path exits 2");
		t.match(bad.stderr, /^sherpany: --timeout-ms: /);
	},
);
