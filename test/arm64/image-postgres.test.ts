/**
 * The linux/arm64 image, run by podman under qemu, against a real
 * PostgreSQL: the suite the amd64 image passes
 * (test/suites/image-postgres.ts).
 */
import t from "tap";
import {
	arm64ImagesOrSkip,
	EMULATED_TIME_LIMITS,
} from "../helpers/emulator.ts";
import {
	healthcheckTest,
	imageOrSkip,
	inspectImage,
} from "../helpers/image.ts";
import { imagePostgresSuite } from "../suites/image-postgres.ts";

// Emulated: every container's start-up takes seconds.
t.setTimeout(1_200_000);

const image = (await arm64ImagesOrSkip(t)) ? await imageOrSkip(t) : undefined;
if (image)
	imagePostgresSuite(t, {
		id: image.arm64Id,
		ref: image.arm64Id,
		env: EMULATED_TIME_LIMITS,
		// The image's HEALTHCHECK allows 3 s, which one emulated start of the
		// executable may take on a busy machine. podman applies a longer
		// limit only with a command: the image's own, as it declares it.
		serveFlags: [
			"--health-cmd",
			JSON.stringify(
				healthcheckTest(await inspectImage(image.arm64Id)).slice(1),
			),
			"--health-timeout",
			"60s",
		],
		// serve on an in-memory database runs PGlite's initdb, emulated.
		startMs: 300_000,
	});
