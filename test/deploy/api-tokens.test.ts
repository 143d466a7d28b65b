/**
 * The api-tokens component, in every combination that has it: serve's
 * API_TOKENS_FILE names the key `tokens` of Secret `sherpany-api-tokens`,
 * mounted as a whole directory (a subPath mount never sees the kubelet's
 * updates, so rotation would need a restart), read-only, in serve alone.
 * The release overlay turns it on from a Secret made beforehand; the dev
 * overlay leaves it off.
 */
import { basename, dirname } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import t, { type Test } from "tap";
import {
	listCombinations,
	renderCombination,
} from "../helpers/deploy-combinations.ts";
import { resolveEnv } from "../helpers/kube-container.ts";
import { findObject, type KubeObject } from "../helpers/kustomize.ts";

const SECRET = "sherpany-api-tokens";

for (const combination of await listCombinations()) {
	t.test(combination.label, async (t) => {
		const objects = await renderCombination(combination);
		const on =
			combination.components.includes("api-tokens") ||
			combination.overlay === "release";
		const deployment = findObject<IDeployment & KubeObject>(
			objects,
			"Deployment",
			"sherpany",
		);
		const pod = deployment.spec?.template.spec as IPodSpec;
		const serve = pod.containers[0] as IContainer;
		const env = resolveEnv(serve, objects, { secrets: {} });
		if (!on) {
			t.equal(
				env.API_TOKENS_FILE,
				undefined,
				"no API_TOKENS_FILE: /users is open",
			);
			t.notOk(
				pod.volumes?.some((volume) => volume.secret?.secretName === SECRET),
				"no tokens volume",
			);
			return;
		}
		checkMount(t, pod, serve, env.API_TOKENS_FILE);
		const migrate = pod.initContainers?.[0] as IContainer;
		t.notOk(
			migrate.volumeMounts?.some((mount) => mount.name === "api-tokens"),
			"migrate does not see the tokens",
		);
	});
}

/** API_TOKENS_FILE is key `tokens` of the Secret, mounted whole and read-only in serve. */
function checkMount(
	t: Test,
	pod: IPodSpec,
	serve: IContainer,
	file: string | undefined,
): void {
	t.equal(
		basename(file ?? ""),
		"tokens",
		"API_TOKENS_FILE names the key tokens",
	);
	const mount = serve.volumeMounts?.find(
		(m) => m.mountPath === dirname(file ?? ""),
	);
	const volume = pod.volumes?.find((v) => v.name === mount?.name);
	t.equal(
		volume?.secret?.secretName,
		SECRET,
		`the directory is Secret ${SECRET}`,
	);
	t.equal(
		volume?.secret?.items,
		undefined,
		"every key projected, under its own name",
	);
	t.equal(
		mount?.subPath,
		undefined,
		"no subPath: the kubelet's updates reach the pod",
	);
	t.equal(mount?.readOnly, true, "read-only");
}

t.test("the release overlay carries no token Secret of its own", async (t) => {
	// Its render is the published release asset: a Secret in it would
	// replace the operator's tokens on every upgrade.
	const objects = await renderCombination({
		label: "overlay release",
		overlay: "release",
		components: [],
	});
	t.notOk(
		objects.some((o) => o.kind === "Secret"),
		"no Secret: sherpany-api-tokens is created beforehand",
	);
});
