/**
 * The built `dist/sherpany-linux-arm64`, under qemu, on the embedded default
 * database: first start, the lock, restart, SIGKILL and restart, the suite
 * dist/sherpany passes (test/suites/binary-embedded.ts).
 */
import t from "tap";
import { arm64TargetOrSkip } from "../helpers/emulator.ts";
import { binaryEmbeddedSuite } from "../suites/binary-embedded.ts";

// Emulated: PGlite's WebAssembly runs under qemu, and every start takes
// seconds.
t.setTimeout(1_200_000);

const target = await arm64TargetOrSkip(t);
if (target)
	t.test("arm64 under qemu, on the embedded default database", (t) =>
		// Of the CLI on the stopped directory, only seed --count: each
		// command starts PGlite, which takes seconds under emulation, and
		// dist/sherpany covers the others.
		binaryEmbeddedSuite(t, target, { everyCommand: false }),
	);
