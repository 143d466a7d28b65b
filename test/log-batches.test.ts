import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import t from "tap";
import { batchLines } from "../src/log-batches.ts";
import { waitFor } from "./helpers/wait-for.ts";

/** A destination that records each write it is handed. */
function recorder(): { writes: string[]; write(chunk: string): void } {
	const writes: string[] = [];
	return { writes, write: (chunk) => void writes.push(chunk) };
}

t.test(
	"lines wait until a batch is full, then go out joined, in order",
	async (t) => {
		const out = recorder();
		const batches = batchLines(out, { maxBytes: 20, maxDelayMs: 60_000 });
		batches.write("first\n");
		batches.write("second\n");
		t.same(out.writes, [], "nothing is written below the size");
		batches.write("third line\n");
		t.same(
			out.writes,
			["first\nsecond\nthird line\n"],
			"one write at the size",
		);
		batches.write("fourth\n");
		t.equal(out.writes.length, 1, "the next batch starts empty");
		batches.flush();
	},
);

t.test("a line waits no longer than the delay", async (t) => {
	const out = recorder();
	const batches = batchLines(out, { maxBytes: 4096, maxDelayMs: 30 });
	batches.write("alone\n");
	t.same(out.writes, []);
	await waitFor("the timer writes the line", () => out.writes.length === 1);
	t.same(out.writes, ["alone\n"]);
	batches.write("again\n");
	await waitFor(
		"a later line gets its own timer",
		() => out.writes.length === 2,
	);
	t.same(out.writes, ["alone\n", "again\n"]);
});

t.test(
	"flush writes what waits, then calls back; with nothing waiting it writes nothing",
	async (t) => {
		const out = recorder();
		const batches = batchLines(out, { maxBytes: 4096, maxDelayMs: 60_000 });
		batches.write("a\n");
		batches.write("b\n");
		let called = 0;
		batches.flush(() => called++);
		t.same(out.writes, ["a\nb\n"]);
		t.equal(called, 1);
		batches.flush(() => called++);
		t.same(out.writes, ["a\nb\n"], "no empty write");
		t.equal(called, 2);
	},
);

// The JSON destination of `serve`: lines still waiting when the process
// ends are written, whether it ends by itself (the batch's timer does not
// hold it) or by process.exit.
const LOGGER = fileURLToPath(new URL("../src/logger.ts", import.meta.url));
for (const [ending, code] of [
	["ends by itself", ""],
	["calls process.exit", "process.exit(0);"],
] as const) {
	t.test(`a process that ${ending} writes its waiting lines`, async (t) => {
		const script = `
			const { createLogger, openLogDestination } = await import(${JSON.stringify(LOGGER)});
			const logger = createLogger("info", await openLogDestination("json"));
			logger.info("the last line");
			${code}`;
		const run = spawnSync(
			process.execPath,
			["--input-type=module", "-e", script],
			{ encoding: "utf8", timeout: 20_000 },
		);
		t.equal(run.status, 0, run.stderr);
		const lines = run.stdout.trim().split("\n");
		t.equal(lines.length, 1, run.stdout);
		t.match(JSON.parse(lines[0] ?? "{}"), { msg: "the last line" });
	});
}
