import t from "tap";
import { loadApiTokensConfig } from "../../src/config/api-tokens.ts";

t.test("off unless a file is named", async (t) => {
	t.equal(loadApiTokensConfig({}), undefined);
	t.equal(
		loadApiTokensConfig({ API_TOKENS_FILE: "" }),
		undefined,
		"empty is unset",
	);
});

t.test("the variable, or the flag before it, names the file", async (t) => {
	t.same(loadApiTokensConfig({ API_TOKENS_FILE: "/run/a" }), {
		file: "/run/a",
		origin: "API_TOKENS_FILE",
	});
	t.same(
		loadApiTokensConfig(
			{ API_TOKENS_FILE: "/run/a" },
			{ apiTokensFile: "/run/b" },
		),
		{ file: "/run/b", origin: "--api-tokens-file" },
	);
	t.ok(Object.isFrozen(loadApiTokensConfig({ API_TOKENS_FILE: "/run/a" })));
});
