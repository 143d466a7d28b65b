/**
 * The external-db component's README says how to replace its placeholder CA
 * bundle: a component of the operator's own, listed after external-db, whose
 * generator replaces `sherpany-database-ca`. This renders exactly that, and
 * the overlay-generator way the README warns against, so the advice stays
 * true as kustomize and the component change.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IConfigMap } from "kubernetes-models/v1";
import t, { type Test } from "tap";
import {
	findGenerated,
	findObject,
	KUBERNETES_DIR,
	kustomize,
} from "../helpers/kustomize.ts";

const BUNDLE = join(KUBERNETES_DIR, "components/external-db/ca-bundle.pem");

/** A throwaway overlay of base + external-db, and its directory. */
async function makeOverlay(
	t: Test,
	extra: { components?: string[]; generator?: boolean },
): Promise<string> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-external-db-"));
	t.teardown(() => rm(dir, { recursive: true, force: true }));
	const toRepo = (path: string) => relative(dir, join(KUBERNETES_DIR, path));
	const kustomization = {
		apiVersion: "kustomize.config.k8s.io/v1beta1",
		kind: "Kustomization",
		resources: [toRepo("base")],
		components: [toRepo("components/external-db"), ...(extra.components ?? [])],
		...(extra.generator && {
			configMapGenerator: [
				{
					name: "sherpany-database-ca",
					behavior: "replace",
					files: ["ca.crt=global-bundle.pem"],
				},
			],
		}),
	};
	await writeFile(
		join(dir, "kustomization.yaml"),
		JSON.stringify(kustomization),
	);
	await writeFile(join(dir, "global-bundle.pem"), await bundleOfOurOwn());
	return dir;
}

/** The placeholder with a line added: a bundle that differs from it. */
async function bundleOfOurOwn(): Promise<string> {
	return `${await readFile(BUNDLE, "utf8")}# our provider's bundle\n`;
}

t.test(
	"a component listed after external-db replaces the CA bundle",
	async (t) => {
		const dir = await makeOverlay(t, { components: ["ca-bundle"] });
		await mkdir(join(dir, "ca-bundle"));
		await writeFile(
			join(dir, "ca-bundle", "kustomization.yaml"),
			JSON.stringify({
				apiVersion: "kustomize.config.k8s.io/v1alpha1",
				kind: "Component",
				configMapGenerator: [
					{
						name: "sherpany-database-ca",
						namespace: "sherpany",
						behavior: "replace",
						files: ["ca.crt=global-bundle.pem"],
					},
				],
			}),
		);
		await writeFile(
			join(dir, "ca-bundle", "global-bundle.pem"),
			await bundleOfOurOwn(),
		);
		const objects = await kustomize(dir);
		const configMap = findGenerated<IConfigMap>(
			objects,
			"ConfigMap",
			"sherpany-database-ca",
		);
		t.equal(configMap.data?.["ca.crt"], await bundleOfOurOwn(), "our bundle");
		const deployment = findObject<IDeployment>(
			objects,
			"Deployment",
			"sherpany",
		);
		const volume = deployment.spec?.template.spec?.volumes?.find(
			(v) => v.name === "database-ca",
		);
		t.equal(
			volume?.configMap?.name,
			configMap.metadata?.name,
			"the Deployment mounts the replaced ConfigMap, hash suffix included",
		);
	},
);

t.test("an overlay's own generator cannot replace it", async (t) => {
	const dir = await makeOverlay(t, { generator: true });
	await t.rejects(kustomize(dir), /does not exist; cannot merge or replace/);
});
