import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t, { type Test } from "tap";
import { selectServers } from "./postgres-servers.ts";
import { findRunId } from "./test-run-cache.ts";

const HELPER = fileURLToPath(new URL("./postgres.ts", import.meta.url));

/** Runs a one-test file that starts a cluster with `options`, and returns its TAP output. */
async function runFile(t: Test, options: string): Promise<string> {
	const dir = t.testdir({
		"one.test.ts": `import t from "tap";
import { startPostgres } from ${JSON.stringify(HELPER)};
const pg = await startPostgres(t, ${options});
t.ok(pg.port, "started");
`,
	});
	const child = spawn(
		process.execPath,
		[...process.execArgv, join(dir, "one.test.ts")],
		// Only the selection of this run matters, not a re-run's.
		{
			env: {
				...process.env,
				SHERPANY_TEST_POSTGRES: "all",
				// Its clusters use this run's cache, which the run removes at its end.
				SHERPANY_TEST_RUN_ID: findRunId(),
			},
		},
	);
	let out = "";
	child.stdout.on("data", (chunk) => {
		out += chunk;
	});
	const code = await new Promise((resolve) => child.on("exit", resolve));
	t.equal(code, 0, "the file passes", { output: out });
	return out;
}

t.test(
	"a file runs on the first server, then again on each other",
	async (t) => {
		const servers = await selectServers(undefined);
		const out = await runFile(t, "{}");
		t.match(out, `# ${servers[0]?.label}: `, "names its server");
		for (const other of servers.slice(1))
			t.match(
				out,
				`one.test.ts again on ${other.label}`,
				`re-run on ${other.label}`,
			);
	},
);

t.test("everyServer: false runs it once", async (t) => {
	const out = await runFile(t, "{ everyServer: false }");
	t.match(out, /# PostgreSQL \d/, "names its server");
	t.notMatch(out, / again on /, "no re-run");
});
