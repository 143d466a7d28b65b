/** The value parsers every setting goes through, and the bounded file read behind secrets. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import {
	parseBoolean,
	parseInteger,
	readFileUtf8,
	readSecret,
} from "../../src/config/values.ts";
import { ConfigError } from "../../src/exit-codes.ts";

const raw = (value: string) => ({ value, origin: "SETTING" });

t.test("booleans: true/false, 1/0, yes/no, in any case", async (t) => {
	for (const value of ["1", "true", "yes", "TRUE", "Yes"])
		t.equal(parseBoolean(raw(value)), true, value);
	for (const value of ["0", "false", "no", "FALSE", "No"])
		t.equal(parseBoolean(raw(value)), false, value);
	for (const value of ["", "on", "2"])
		t.throws(() => parseBoolean(raw(value)), {
			name: "ConfigError",
			message: `SETTING: expected true or false, got "${value}"`,
		});
});

t.test(
	"whole numbers: spaces around are dropped, nothing else is",
	async (t) => {
		t.equal(parseInteger(raw(" 42\n"), 1, 100), 42);
		t.equal(parseInteger(raw("0"), 0, 100), 0, "the minimum is in range");
		t.equal(parseInteger(raw("100"), 0, 100), 100, "the maximum is in range");
		for (const value of ["42abc", "4 2", "-1", "4.5", "0x10", ""])
			t.throws(() => parseInteger(raw(value), 0, 100), {
				message: `SETTING: expected a whole number from 0 to 100, got "${value}"`,
			});
		t.throws(() => parseInteger(raw(" 101 "), 0, 100), {
			message: "SETTING: 101 is out of range, expected 0 to 100",
		});
	},
);

t.test("a secret file loses one trailing newline, no other", async (t) => {
	const files: Record<string, string> = {
		"/crlf": "pw\r\n",
		"/lines": "first\nsecond\n",
		"/two": "pw\n\n",
	};
	const read = (name: string) =>
		readSecret({ SECRET_FILE: name }, "SECRET", (path) => files[path] ?? "")
			?.value;
	t.equal(read("/crlf"), "pw");
	t.equal(read("/lines"), "first\nsecond");
	t.equal(read("/two"), "pw\n");
});

t.test("an unreadable secret file keeps the reason as the cause", async (t) => {
	const reason = Object.assign(new Error("ENOENT: /run/x"), { code: "ENOENT" });
	const error = t.throws(() =>
		readSecret({ SECRET_FILE: "/run/x" }, "SECRET", () => {
			throw reason;
		}),
	) as Error;
	t.type(error, ConfigError);
	t.equal(error.cause, reason);
});

t.test("reading a file closes it, read whole or refused", async (t) => {
	const dir = t.testdir({ small: "x", big: "x".repeat(2 * 1024 * 1024) });
	const open = () => readdirSync("/proc/self/fd").length;
	const before = open();
	for (let i = 0; i < 20; i++) {
		t.equal(readFileUtf8(join(dir, "small")), "x");
		t.throws(() => readFileUtf8(join(dir, "big")));
	}
	t.equal(open(), before, "no file descriptor left open");
});
