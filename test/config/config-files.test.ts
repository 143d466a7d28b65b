/** Secret and CA bundle files are read with a bound: a wrong file, or a device such as /dev/zero, never fills memory. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import {
	MAX_CONFIG_FILE_BYTES,
	readFileUtf8,
} from "../../src/config/values.ts";
import { ConfigError } from "../../src/exit-codes.ts";

t.test("a file at the limit is read whole", async (t) => {
	const dir = t.testdir({});
	const path = join(dir, "at-limit");
	await writeFile(path, "é".repeat(MAX_CONFIG_FILE_BYTES / 2));
	t.equal(readFileUtf8(path), "é".repeat(MAX_CONFIG_FILE_BYTES / 2));
});

t.test("a bigger file is refused, naming the variable", async (t) => {
	const dir = t.testdir({});
	const big = join(dir, "big.pem");
	await writeFile(big, "x".repeat(MAX_CONFIG_FILE_BYTES + 1));
	t.throws(() => readFileUtf8(big), { message: /^larger than 1 MiB/ });
	// A bigger file, not /dev/zero: without the bound, the test must fail,
	// not fill the machine's memory.
	const secret = t.throws(() =>
		loadDatabaseConfig({ DATABASE_URL_FILE: big }),
	) as Error;
	t.type(secret, ConfigError);
	t.equal(
		secret.message,
		`DATABASE_URL_FILE: cannot read ${big} (larger than 1 MiB: is it the right file?)`,
	);
	const bundle = t.throws(() =>
		loadDatabaseConfig({
			DATABASE_URL: "postgres://db",
			PGSSLMODE: "verify-full",
			PGSSLROOTCERT: big,
		}),
	) as Error;
	t.type(bundle, ConfigError);
	t.match(
		bundle.message,
		/^PGSSLROOTCERT: cannot read CA bundle .*big\.pem \(larger than 1 MiB/,
	);
});
