/** The first SIGTERM or SIGINT starts a shutdown, a second one exits 1 at once, and the watchdog exits 1 on overrun. */
import { spawn } from "node:child_process";
import t from "tap";

const SIGNALS = new URL("../../src/cli/signals.ts", import.meta.url).href;

/** Runs `body` (an ES module with `catchShutdownSignals` and `exitIfStillRunningAfter` imported) in a child node. */
function runChild(
	body: string,
	onStdout: (text: string, child: ReturnType<typeof spawn>) => void = () => {},
): Promise<{ code: number | null; stdout: string }> {
	const child = spawn(
		process.execPath,
		[
			"--input-type=module",
			"-e",
			`import { catchShutdownSignals, exitIfStillRunningAfter } from ${JSON.stringify(SIGNALS)};\n${body}`,
		],
		// A child that ignores its signals is still ended, and the test fails.
		{
			stdio: ["ignore", "pipe", "inherit"],
			timeout: 60_000,
			killSignal: "SIGKILL",
		},
	);
	let stdout = "";
	child.stdout.setEncoding("utf8").on("data", (text: string) => {
		stdout += text;
		onStdout(stdout, child);
	});
	return new Promise((resolve) =>
		child.on("close", (code) => resolve({ code, stdout })),
	);
}

t.test(
	"the first signal settles `first` and does not end the process",
	async (t) => {
		const result = await runChild(
			`const { first } = catchShutdownSignals();
		const alive = setInterval(() => {}, 1000);
		console.log("ready");
		console.log("first " + (await first));
		clearInterval(alive);`,
			(stdout, child) => {
				if (stdout === "ready\n") child.kill("SIGINT");
			},
		);
		t.same(result, { code: 0, stdout: "ready\nfirst SIGINT\n" });
	},
);

t.test("a second signal calls onSecond, then exits 1", async (t) => {
	const result = await runChild(
		`const { first } = catchShutdownSignals((signal) => console.log("second " + signal));
		setInterval(() => {}, 1000);
		console.log("ready");
		console.log("first " + (await first));`,
		(stdout, child) => {
			if (stdout === "ready\n") child.kill("SIGTERM");
			if (stdout === "ready\nfirst SIGTERM\n") child.kill("SIGINT");
		},
	);
	t.equal(result.stdout, "ready\nfirst SIGTERM\nsecond SIGINT\n");
	t.equal(result.code, 1);
});

t.test(
	"the watchdog exits 1 after calling onOverrun, and keeps nothing alive",
	async (t) => {
		const overrun = await runChild(
			`exitIfStillRunningAfter(50, () => console.log("overrun"));
		setInterval(() => {}, 1000);`,
		);
		t.same(overrun, { code: 1, stdout: "overrun\n" });
		const done = await runChild(
			`exitIfStillRunningAfter(60_000, () => console.log("overrun"));
		console.log("done");`,
		);
		t.same(
			done,
			{ code: 0, stdout: "done\n" },
			"a finished process exits at once",
		);
	},
);
