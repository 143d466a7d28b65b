import t from "tap";
import {
	CommandError,
	ConfigError,
	EXIT_FAILURE,
	EXIT_USAGE,
	exitCodeFor,
	hasExitCode,
	InputFileError,
} from "../src/exit-codes.ts";

t.test("each typed error maps to its exit code", async (t) => {
	t.equal(exitCodeFor(new ConfigError("x")), EXIT_USAGE);
	t.equal(exitCodeFor(new InputFileError("x")), EXIT_USAGE);
	t.equal(exitCodeFor(new CommandError("x")), EXIT_FAILURE);
	t.equal(exitCodeFor(new Error("x")), EXIT_FAILURE, "anything else exits 1");
	t.equal(exitCodeFor("a string"), EXIT_FAILURE);
	t.equal(exitCodeFor(undefined), EXIT_FAILURE);
});

t.test(
	"the brand, not the class, decides: another copy of a class maps too",
	async (t) => {
		// What the binary's second bundle throws: the same class, compiled again.
		const brand: unique symbol = Symbol.for("sherpany.exitCode") as never;
		class ConfigError extends Error {
			override name = "ConfigError";
			readonly [brand] = EXIT_USAGE;
		}
		const copy = new ConfigError("bad --port");
		t.ok(hasExitCode(copy), "recognised by its brand");
		t.equal(exitCodeFor(copy), EXIT_USAGE);
	},
);

t.test("an exitCode field of another library is not the brand", async (t) => {
	// commander's CommanderError carries exitCode 0 for --help.
	const foreign = Object.assign(new Error("help shown"), { exitCode: 0 });
	t.notOk(hasExitCode(foreign));
	t.equal(exitCodeFor(foreign), EXIT_FAILURE);
});
