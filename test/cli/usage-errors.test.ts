import { Command, CommanderError } from "commander";
import t from "tap";
import { rewriteUsageErrors } from "../../src/cli/usage-errors.ts";

/**
 * What commander prints to stderr for `argv`, on a program shaped like
 * sherpany's: commands with options, one with a subcommand, one with an
 * argument, each given the `sherpany: …` form by rewriteUsageErrors.
 */
function usageError(argv: string[]): string {
	let stderr = "";
	const program = new Command("tool").exitOverride().configureOutput({
		writeOut: () => {},
		writeErr: (text) => {
			stderr += text;
		},
	});
	program.command("serve").option("--port <n>").option("--portal <url>");
	program.command("seed").option("--count <n>").argument("[file]");
	// migrate runs on its own too, as sherpany's does: commander then reads
	// a mistyped subcommand as an excess argument.
	const migrate = program.command("migrate").action(() => {});
	migrate.command("status").option("--data-dir <dir>");
	rewriteUsageErrors(program, "tool");
	try {
		program.parse(argv, { from: "user" });
	} catch (error) {
		if (!(error instanceof CommanderError)) throw error;
		return stderr;
	}
	throw new Error(`${argv.join(" ")} parsed`);
}

t.test("each parse error is one sherpany: line", async (t) => {
	const cases: [string[], string][] = [
		[
			["serv"],
			"sherpany: unknown command 'serv' (did you mean serve?); see tool --help\n",
		],
		[
			["bogus"],
			"sherpany: unknown command 'bogus': the commands are serve, seed, migrate; see tool --help\n",
		],
		// An option, not a command: no list of commands.
		[["--bogus"], "sherpany: unknown option '--bogus'; see tool --help\n"],
		[
			["serve", "--prot", "1"],
			"sherpany: unknown option '--prot' (did you mean --port?); see tool serve --help\n",
		],
		[
			["serve", "--porta", "1"],
			"sherpany: unknown option '--porta' (did you mean one of --port, --portal?); see tool serve --help\n",
		],
		[
			["serve", "--port"],
			"sherpany: option '--port <n>' argument missing; see tool serve --help\n",
		],
		// A command without subcommands keeps commander's words, less the
		// final full stop.
		[
			["serve", "extra"],
			"sherpany: too many arguments for 'serve'. Expected 0 arguments but got 1: extra; see tool serve --help\n",
		],
		[
			["seed", "a.csv", "b.csv"],
			"sherpany: too many arguments for 'seed'. Expected 1 argument but got 2: a.csv, b.csv; see tool seed --help\n",
		],
		// With subcommands, an excess argument is a mistyped subcommand: the
		// first is named.
		[
			["migrate", "sideways"],
			"sherpany: unknown command 'sideways': the commands are status; see tool migrate --help\n",
		],
		[
			["migrate", "sideways", "x"],
			"sherpany: unknown command 'sideways': the commands are status; see tool migrate --help\n",
		],
		// Ten of them: commander's count has two digits.
		[
			["migrate", "sideways", ..."123456789"],
			"sherpany: unknown command 'sideways': the commands are status; see tool migrate --help\n",
		],
		// commander offers no suggestion for an excess argument.
		[
			["migrate", "stat"],
			"sherpany: unknown command 'stat': the commands are status; see tool migrate --help\n",
		],
		[
			["migrate", "status", "--data-dri", "x"],
			"sherpany: unknown option '--data-dri' (did you mean --data-dir?); see tool migrate status --help\n",
		],
	];
	for (const [argv, expected] of cases)
		t.equal(usageError(argv), expected, argv.join(" "));
});
