import t from "tap";
import { warnOfPasswordFlags } from "../../src/cli/password-flags.ts";

t.test("a URL flag with a password gets a warning", async (t) => {
	const warnings = warnOfPasswordFlags({
		databaseUrl: "postgres://app:hunter2@db/app",
		databaseReadUrl: "postgres://reader:pw@replica/app",
	});
	t.same(
		warnings.map((line) => line.split(" holds")[0]),
		["warning: --database-url", "warning: --database-read-url"],
	);
	t.match(
		warnings[0],
		/\(ps\): put the URL in a file named by DATABASE_URL_FILE/,
	);
	t.notMatch(warnings.join("\n"), /hunter2/, "the password is not repeated");
});

t.test("no password, no URL flag or no URL: no warning", async (t) => {
	t.same(warnOfPasswordFlags({ databaseUrl: "postgres://app@db/app" }), []);
	t.same(warnOfPasswordFlags({}), []);
	t.same(warnOfPasswordFlags({ databaseUrl: "not a url" }), []);
	t.same(warnOfPasswordFlags({ sslMode: "postgres://a:b@c" }), []);
});
