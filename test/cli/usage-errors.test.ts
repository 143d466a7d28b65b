/** Commander's parse errors rewritten to sherpany's one line, with the suggestion or the list of commands. */
import t from "tap";
import { formatUsageError } from "../../src/cli/usage-errors.ts";

const top = { path: "sherpany", commands: ["serve", "migrate", "seed"] };
const seed = { path: "sherpany seed", commands: [] };

t.test("a suggestion stays on the same line", async (t) => {
	t.equal(
		formatUsageError(
			"error: unknown command 'serv'\n(Did you mean serve?)\n",
			top,
		),
		"sherpany: unknown command 'serv' (did you mean serve?); see sherpany --help\n",
	);
});

t.test(
	"an unknown command without a suggestion lists the commands there are",
	async (t) => {
		t.equal(
			formatUsageError("error: unknown command 'xyz'\n", top),
			"sherpany: unknown command 'xyz': the commands are serve, migrate, seed; see sherpany --help\n",
		);
		t.equal(
			formatUsageError("error: unknown command 'xyz'\n", seed),
			"sherpany: unknown command 'xyz'; see sherpany seed --help\n",
			"none to list: no list",
		);
		t.equal(
			formatUsageError("error: unknown option '--xyz'\n", top),
			"sherpany: unknown option '--xyz'; see sherpany --help\n",
			"not a command: no list",
		);
	},
);

t.test(
	"an excess argument to a command with subcommands is a mistyped subcommand",
	async (t) => {
		const migrate = { path: "sherpany migrate", commands: ["status"] };
		t.equal(
			formatUsageError(
				"error: too many arguments for 'migrate'. Expected 0 arguments but got 12: stats, a.\n",
				migrate,
			),
			"sherpany: unknown command 'stats': the commands are status; see sherpany migrate --help\n",
		);
		t.equal(
			formatUsageError(
				"error: too many arguments for 'seed'. Expected 0 arguments but got 1: x.\n",
				seed,
			),
			"sherpany: too many arguments for 'seed'. Expected 0 arguments but got 1: x; see sherpany seed --help\n",
			"a command without subcommands keeps commander's words",
		);
	},
);
