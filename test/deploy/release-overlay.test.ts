/**
 * overlays/release is production: it holds no seed Job template
 * (components/seed-job/README.md leaves it out of production), and its image
 * digests are the placeholders that Terraform and Ansible refuse, so nobody
 * mistakes it for what the release published.
 */
import t from "tap";
import { kustomize } from "../helpers/kustomize.ts";

const objects = await kustomize("overlays/release");

t.test("no seed Job template or Job", async (t) => {
	t.ok(objects.length > 10, "the overlay renders");
	t.same(
		objects
			.filter((o) => o.kind === "CronJob" || o.kind === "Job")
			.map((o) => `${o.kind}/${o.metadata.name}`),
		[],
	);
});
