/**
 * The built `dist/sherpany-linux-arm64`, under qemu, against a real
 * PostgreSQL: the suite dist/sherpany passes (test/suites/binary-postgres.ts).
 * One PostgreSQL server: the database suites cover the versions.
 */
import t from "tap";
import { arm64TargetOrSkip } from "../helpers/emulator.ts";
import { binaryPostgresSuite } from "../suites/binary-postgres.ts";

// Emulated: every start-up of the executable takes seconds.
t.setTimeout(1_200_000);

const target = await arm64TargetOrSkip(t);
if (target)
	t.test("arm64 under qemu, against PostgreSQL", (t) =>
		binaryPostgresSuite(t, target, { everyServer: false }),
	);
