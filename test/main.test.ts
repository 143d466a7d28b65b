import { Writable } from "node:stream";
import t from "tap";
import { main } from "../src/main.ts";
import { hasStackTrace, runCli } from "./helpers/cli.ts";

/** Runs main() in-process and captures its output. */
async function cli(args: string[], env: Record<string, string> = {}) {
	let stdout = "";
	let stderr = "";
	const sink = (append: (text: string) => void) =>
		new Writable({
			write(chunk, _encoding, done) {
				append(String(chunk));
				done();
			},
		});
	const code = await main(args, env, {
		stdout: sink((text) => {
			stdout += text;
		}),
		stderr: sink((text) => {
			stderr += text;
		}),
	});
	return { code, stdout, stderr };
}

t.test("--version names the version and the runtime", async (t) => {
	const result = await cli(["--version"]);
	t.equal(result.code, 0);
	t.match(result.stdout, /^sherpany \d+\.\d+\.\d+ \(node \d+\.\d+\.\d+\)\n$/);
});

t.test(
	"--help works everywhere and names flags with their variables",
	async (t) => {
		const top = await cli(["--help"]);
		t.equal(top.code, 0);
		for (const command of ["serve", "migrate", "seed", "check-health"])
			t.match(top.stdout, command);
		const expectations: [string[], RegExp[]][] = [
			[
				["serve", "--help"],
				[
					/--port <port>.*env: PORT/s,
					/--admin-port/,
					/--host <address>\s.*?\(env:\s+HOST,\s+default:\s+0\.0\.0\.0,\s+127\.0\.0\.1\s+on\s+the\s+embedded\s+database\)/s,
					/--admin-host <address>\s.*?\(env:\s+ADMIN_HOST,\s+default:\s+the\s+API's\s+address\)/s,
					/DATABASE_URL_FILE/,
					/PGSSLMODE/,
				],
			],
			[
				["migrate", "--help"],
				[/status/, /--database-url/],
			],
			[["migrate", "status", "--help"], [/--database-url/]],
			[
				["seed", "--help"],
				[/--count <n>/, /--file <path>/],
			],
			[
				["check-health", "--help"],
				[/--ready/, /--url <url>/, /CHECK_HEALTH_TIMEOUT_MS/],
			],
		];
		for (const [args, patterns] of expectations) {
			const result = await cli(args);
			t.equal(result.code, 0, args.join(" "));
			for (const pattern of patterns)
				t.match(result.stdout, pattern, `${args.join(" ")} ${pattern}`);
		}
	},
);

t.test("usage errors exit 2 with one line", async (t) => {
	for (const [args, why] of [
		[["bogus"], /^sherpany: unknown command 'bogus'.*\n$/],
		[["serve", "--bogus"], /^sherpany: unknown option '--bogus'.*\n$/],
		[["migrate", "sideways"], /^sherpany: unknown command 'sideways'.*\n$/],
		[
			["seed", "--count"],
			/^sherpany: option '--count <n>' argument missing.*\n$/,
		],
		// No command at all: the help, which lists the commands.
		[[], /^Usage: sherpany [\s\S]*check-health/],
	] as const) {
		const result = await cli([...args]);
		const name = args.join(" ") || "(no command)";
		t.equal(result.code, 2, name);
		t.match(result.stderr, why, `${name} says why`);
		t.notOk(hasStackTrace(result.stderr));
	}
});

t.test(
	"commander's parse errors take the sherpany: form, with a suggestion",
	async (t) => {
		const cases: [string[], string][] = [
			[
				["serv"],
				"sherpany: unknown command 'serv' (did you mean serve?); see sherpany --help\n",
			],
			[
				["bogus"],
				"sherpany: unknown command 'bogus': the commands are serve, migrate, seed, check-health; see sherpany --help\n",
			],
			[
				["serve", "--prot", "1"],
				"sherpany: unknown option '--prot' (did you mean --port?); see sherpany serve --help\n",
			],
			[
				["seed", "--bogus"],
				"sherpany: unknown option '--bogus'; see sherpany seed --help\n",
			],
			[
				["migrate", "sideways"],
				"sherpany: unknown command 'sideways': the commands are status; see sherpany migrate --help\n",
			],
			[
				["seed", "--count"],
				"sherpany: option '--count <n>' argument missing; see sherpany seed --help\n",
			],
			[
				["migrate", "status", "--data-dri", "x"],
				"sherpany: unknown option '--data-dri' (did you mean --data-dir?); see sherpany migrate status --help\n",
			],
		];
		for (const [args, expected] of cases) {
			const result = await cli(args);
			t.equal(result.code, 2, `${args.join(" ")} exits 2`);
			t.equal(result.stderr, expected, args.join(" "));
			t.equal(result.stdout, "", `${args.join(" ")}: nothing on stdout`);
		}
	},
);

t.test("serve --help is true for both databases", async (t) => {
	const result = await cli(["serve", "--help"]);
	const text = result.stdout.replace(/\s+/g, " ");
	t.match(text, /migrates the embedded database itself/);
	t.match(text, /never changes a PostgreSQL schema: run migrate first/);
	t.match(
		text,
		/--shutdown-delay-ms <ms> .*default: 5000, 0 on the embedded database/,
		"the delay's two defaults",
	);
});

t.test(
	"configuration errors exit 2 naming the variable, without the password",
	async (t) => {
		const cases: [string[], Record<string, string>, RegExp][] = [
			[
				["migrate"],
				{ DATABASE_URL: "postgres://u:hunter2@h:99999/db" },
				/^sherpany: DATABASE_URL has a port out of range: expected 1 to 65535/,
			],
			[
				["seed"],
				{ PGHOST: "h", PGPASSWORD_FILE: "/nonexistent/pw" },
				/^sherpany: PGPASSWORD_FILE: cannot read \/nonexistent\/pw \(ENOENT\)/,
			],
			[
				["serve"],
				{ DATABASE_URL: "postgres://h", PORT: "0" },
				/^sherpany: PORT: 0 is out of range/,
			],
			[
				["serve", "--log-level", "loud"],
				{ DATABASE_URL: "postgres://h" },
				/^sherpany: --log-level: expected one of/,
			],
			[
				["check-health", "--timeout-ms", "x"],
				{},
				/^sherpany: --timeout-ms: expected a whole number/,
			],
		];
		for (const [args, env, message] of cases) {
			const result = await cli(args, env);
			t.equal(result.code, 2, args.join(" "));
			t.match(result.stderr, message);
			t.equal(result.stderr.trim().split("\n").length, 1, "one line");
			t.notMatch(result.stderr, /hunter2/);
		}
	},
);

t.test(
	"bin/sherpany runs the CLI on the pinned Node 24, whatever node is on PATH",
	async (t) => {
		const result = await runCli(["--version"], { PATH: "/usr/bin:/bin" });
		t.equal(result.code, 0, result.stderr);
		t.match(result.stdout, /\(node 24\./);
		t.equal(result.stderr, "", "no warnings");
	},
);

t.test(
	"a password in --database-url is warned about, on stderr, without repeating it",
	async (t) => {
		const result = await cli(
			[
				"migrate",
				"status",
				"--database-url",
				"postgres://app:hunter2@127.0.0.1:1/app",
			],
			{ PG_CONNECT_TIMEOUT_MS: "1000" },
		);
		t.match(
			result.stderr,
			/^sherpany: warning: --database-url holds a password, which other users of this machine can read in the process list \(ps\)/,
		);
		t.notMatch(result.stderr, /hunter2/);
		const withoutPassword = await cli(
			["migrate", "status", "--database-url", "postgres://app@127.0.0.1:1/app"],
			{ PG_CONNECT_TIMEOUT_MS: "1000" },
		);
		t.notMatch(withoutPassword.stderr, /warning/);
	},
);
