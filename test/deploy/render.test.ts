/**
 * The rendered objects fit together the way the deploy contract says, in
 * every combination: one namespace, the recommended labels, names that
 * resolve (ConfigMaps, Secrets, Services, ports), the admin port kept off the
 * Ingress's Service, a database component that narrows the app's egress to
 * its own pods, and a seed Job template that talks to the same database as
 * the Deployment.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { ICronJob } from "kubernetes-models/batch/v1";
import type {
	IIngress,
	INetworkPolicy,
} from "kubernetes-models/networking.k8s.io/v1";
import type { IContainer, IPodSpec, IService } from "kubernetes-models/v1";
import t, { type Test } from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { ConfigError } from "../../src/exit-codes.ts";
import {
	type Combination,
	DATABASES,
	listCombinations,
	renderCombination,
} from "../helpers/deploy-combinations.ts";
import { parseQuantity, resolveEnv } from "../helpers/kube-container.ts";
import { podSpecOf } from "../helpers/kube-policy.ts";
import { findObject, type KubeObject } from "../helpers/kustomize.ts";

const { version } = JSON.parse(
	await readFile(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string };

const NAMESPACE = "sherpany";
const CLUSTER_SCOPED = new Set(["Namespace"]);
const RECOMMENDED_LABELS = {
	"app.kubernetes.io/instance": "sherpany",
	"app.kubernetes.io/part-of": "sherpany",
	"app.kubernetes.io/managed-by": "kustomize",
};

/** serve's peak resident memory under load (the performance issue's measurement). */
const SERVE_PEAK_BYTES = 300e6;
/** check-health's maximum RSS (GNU time, 21 runs on a loaded machine; the bench saw 44 MiB). */
const CHECK_HEALTH_PEAK_BYTES = 65 * 2 ** 20;

/** The postgres component's SQL files, as on disk. */
const COMPONENT_SQL = Object.fromEntries(
	await Promise.all(
		["roles.sql", "logins.sql"].map(async (name) => [
			name,
			await readFile(
				new URL(
					`../../deploy/kubernetes/components/postgres/${name}`,
					import.meta.url,
				),
				"utf8",
			),
		]),
	),
) as Record<string, string>;

/** Secrets that exist outside the rendered objects: made by an operator, a person or cert-manager. */
const EXTERNAL_SECRETS = new Set([
	"sherpany-database", // by hand, or by the ExternalSecret of the same name
	"sherpany-db-app", // CloudNativePG
	"sherpany-db-ca", // CloudNativePG
	"sherpany-db-serve", // by hand: the CloudNativePG read-only role's password
	"sherpany-tls", // cert-manager or by hand
	"sherpany-api-tokens", // by hand, an overlay's secretGenerator or an ExternalSecret
]);

for (const combination of await listCombinations()) {
	t.test(combination.label, async (t) => {
		const objects = await renderCombination(combination);
		checkNamespaceAndLabels(t, objects);
		checkReferences(t, objects);
		checkServices(t, objects);
		checkDeployment(t, objects, combination);
		checkEgress(t, objects, combination);
		checkIngress(t, objects);
		checkDatabaseCa(t, objects);
		checkSeedJob(t, objects);
		checkDatabaseRoles(t, objects, combination);
		checkServiceMonitors(t, objects);
	});
}

function checkNamespaceAndLabels(t: Tap, objects: KubeObject[]): void {
	findObject(objects, "Namespace", NAMESPACE);
	for (const object of objects) {
		const where = `${object.kind}/${object.metadata.name}`;
		if (!CLUSTER_SCOPED.has(object.kind))
			t.equal(
				object.metadata.namespace,
				NAMESPACE,
				`${where} is in ${NAMESPACE}`,
			);
		t.match(
			object.metadata.labels ?? {},
			RECOMMENDED_LABELS,
			`${where} has the recommended labels`,
		);
		t.match(
			object.metadata.labels?.["app.kubernetes.io/name"],
			/^sherpany/,
			`${where} is named by app.kubernetes.io/name`,
		);
	}
}

/** Every ConfigMap and Secret a pod names exists (or is one of the known external Secrets). */
function checkReferences(t: Tap, objects: KubeObject[]): void {
	const names = (kind: string) =>
		new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
	const configMaps = names("ConfigMap");
	const secrets = new Set([...names("Secret"), ...EXTERNAL_SECRETS]);
	for (const object of objects) {
		const pod = podSpecOf(object);
		if (!pod) continue;
		const where = `${object.kind}/${object.metadata.name}`;
		for (const container of [
			...(pod.initContainers ?? []),
			...pod.containers,
		]) {
			for (const source of container.envFrom ?? []) {
				if (source.configMapRef)
					t.ok(
						configMaps.has(source.configMapRef.name ?? ""),
						`${where} ${container.name}: ConfigMap ${source.configMapRef.name} exists`,
					);
				if (source.secretRef)
					t.ok(
						secrets.has(source.secretRef.name ?? ""),
						`${where} ${container.name}: Secret ${source.secretRef.name} exists`,
					);
			}
			const claims = (
				(
					object.spec as {
						volumeClaimTemplates?: { metadata: { name: string } }[];
					}
				).volumeClaimTemplates ?? []
			).map((c) => c.metadata.name);
			const volumes = new Set([
				...(pod.volumes ?? []).map((v) => v.name),
				...claims,
			]);
			for (const mount of container.volumeMounts ?? [])
				t.ok(
					volumes.has(mount.name),
					`${where} ${container.name}: volume ${mount.name} exists`,
				);
		}
		for (const volume of pod.volumes ?? []) {
			if (volume.configMap)
				t.ok(
					configMaps.has(volume.configMap.name ?? ""),
					`${where}: ConfigMap ${volume.configMap.name} exists`,
				);
			if (volume.secret)
				t.ok(
					secrets.has(volume.secret.secretName ?? ""),
					`${where}: Secret ${volume.secret.secretName} exists`,
				);
			for (const source of volume.projected?.sources ?? []) {
				if (source.secret)
					t.ok(
						secrets.has(source.secret.name ?? ""),
						`${where}: Secret ${source.secret.name} exists`,
					);
			}
		}
	}
}

/** Services select running pods, on container ports that exist; the admin port stays off `sherpany`. */
function checkServices(t: Tap, objects: KubeObject[]): void {
	const pods = objects
		.map((object) => ({ object, pod: podSpecOf(object) }))
		.filter(
			(entry): entry is { object: KubeObject; pod: IPodSpec } =>
				entry.pod !== undefined && entry.object.kind !== "CronJob",
		);
	for (const service of objects.filter(
		(o) => o.kind === "Service",
	) as unknown as (IService & KubeObject)[]) {
		const selector = service.spec?.selector ?? {};
		const selected = pods.filter(({ object }) => {
			const labels =
				(
					object.spec as {
						template?: { metadata?: { labels?: Record<string, string> } };
					}
				).template?.metadata?.labels ?? {};
			return Object.entries(selector).every(
				([key, value]) => labels[key] === value,
			);
		});
		t.equal(
			selected.length,
			1,
			`Service ${service.metadata.name} selects one workload`,
		);
		const portNames = new Set(
			selected.flatMap(({ pod }) =>
				pod.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)),
			),
		);
		for (const port of service.spec?.ports ?? [])
			t.ok(
				portNames.has(String(port.targetPort)),
				`Service ${service.metadata.name} targets a named container port ${port.targetPort}`,
			);
	}
	const api = findObject<IService>(objects, "Service", "sherpany");
	t.same(
		api.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]),
		[["http", 80, "http"]],
		"Service sherpany carries the API port only, never the admin port",
	);
	const admin = findObject<IService & KubeObject>(
		objects,
		"Service",
		"sherpany-admin",
	);
	t.same(
		admin.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]),
		[["admin", 9090, "admin"]],
		"Service sherpany-admin carries the admin port",
	);
	t.match(
		admin.metadata.labels,
		{
			"app.kubernetes.io/name": "sherpany",
			"app.kubernetes.io/component": "admin",
		},
		"a ServiceMonitor can select sherpany-admin by its labels",
	);
}

function checkDeployment(
	t: Tap,
	objects: KubeObject[],
	combination: Combination,
): void {
	const deployment = findObject<IDeployment & KubeObject>(
		objects,
		"Deployment",
		"sherpany",
	);
	const pod = deployment.spec?.template.spec as IPodSpec;
	const [migrate] = pod.initContainers ?? [];
	const [serve] = pod.containers;
	t.equal(migrate?.name, "migrate", "init container migrate");
	t.same(
		migrate?.args,
		["migrate"],
		"the init container runs sherpany migrate",
	);
	t.equal(serve?.name, "sherpany", "container sherpany");
	t.same(serve?.args, ["serve"], "the container runs sherpany serve");
	t.same(
		serve?.livenessProbe?.exec?.command?.slice(1),
		["check-health"],
		"liveness is exec sherpany check-health",
	);
	t.same(
		serve?.ports?.map((p) => [p.name, p.containerPort]),
		[
			["http", 8080],
			["admin", 9090],
		],
		"ports http 8080 and admin 9090",
	);
	const expectedImage =
		combination.overlay === "dev"
			? `localhost/sherpany:${version}`
			: `ghcr.io/sherpany/sherpany:${version}`;
	t.ok(
		serve?.image?.startsWith(expectedImage),
		`the image is ${expectedImage} (package.json version)`,
	);
	t.equal(migrate?.image, serve?.image, "migrate runs the same image");
	// serve's default address depends on the database (127.0.0.1 on the
	// embedded one): in a pod both ports must be reachable from the Service
	// and the kubelet, whatever the database.
	t.match(
		resolveEnv(serve as IContainer, objects, { secrets: {} }),
		{ HOST: "0.0.0.0", ADMIN_HOST: "0.0.0.0" },
		"serve listens on every address, the admin port too, by explicit settings",
	);
	t.equal(
		deployment.metadata.labels?.["app.kubernetes.io/version"],
		version,
		"the version label is package.json's",
	);
	t.equal(
		deployment.spec?.replicas,
		undefined,
		"no replicas: the HPA owns the count",
	);
	const hpa = findObject<
		KubeObject & { spec: { scaleTargetRef: { kind: string; name: string } } }
	>(objects, "HorizontalPodAutoscaler", "sherpany");
	t.same(
		hpa.spec.scaleTargetRef,
		{ apiVersion: "apps/v1", kind: "Deployment", name: "sherpany" },
		"the HPA scales the Deployment",
	);
	const pdb = findObject<
		KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } }
	>(objects, "PodDisruptionBudget", "sherpany");
	t.match(
		deployment.spec?.template.metadata?.labels,
		pdb.spec.selector.matchLabels,
		"the PDB selects the Deployment's pods",
	);
	const serviceAccount = findObject<
		KubeObject & { automountServiceAccountToken?: boolean }
	>(objects, "ServiceAccount", "sherpany");
	t.equal(
		serviceAccount.automountServiceAccountToken,
		false,
		"the ServiceAccount mounts no token",
	);
	const memoryLimit = parseQuantity(String(serve?.resources?.limits?.memory));
	t.ok(
		memoryLimit >= SERVE_PEAK_BYTES + CHECK_HEALTH_PEAK_BYTES,
		`the memory limit (${serve?.resources?.limits?.memory}) covers serve's peak under load plus one check-health`,
	);
	t.equal(
		serve?.resources?.requests?.memory,
		serve?.resources?.limits?.memory,
		"memory request = limit",
	);
	const zones = pod.topologySpreadConstraints?.map((c) => c.topologyKey);
	t.same(
		zones,
		["topology.kubernetes.io/zone", "kubernetes.io/hostname"],
		"spread over zones and nodes",
	);
}

/** The app reaches DNS and PostgreSQL only; an in-cluster database narrows PostgreSQL to its pods. */
/**
 * A database outside the namespace is never reached in clear unasked: the
 * rendered settings, read by sherpany's own configuration code with a URL
 * that names no sslmode, give TLS or a configuration error, never plain text.
 */
function checkTlsOutside(t: Tap, objects: KubeObject[]): void {
	const deployment = findObject<IDeployment & KubeObject>(
		objects,
		"Deployment",
		"sherpany",
	);
	for (const container of [
		...(deployment.spec?.template.spec?.initContainers ?? []),
		...(deployment.spec?.template.spec?.containers ?? []),
	]) {
		const env = resolveEnv(container as IContainer, objects, { secrets: {} });
		const readFile = (path: string): string =>
			path === env.DATABASE_URL_FILE
				? "postgres://app:pw@db.example.com/app"
				: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
		let mode: string;
		try {
			const config = loadDatabaseConfig(env, {}, { readFile });
			mode = config.kind === "postgres" ? config.sslMode : config.kind;
		} catch (error) {
			if (!(error instanceof ConfigError)) throw error;
			mode = "refused";
		}
		t.not(
			mode,
			"disable",
			`${container.name}: a URL without sslmode gets TLS or exit 2 (${mode})`,
		);
	}
}

function checkEgress(
	t: Tap,
	objects: KubeObject[],
	combination: Combination,
): void {
	const policy = findObject<INetworkPolicy & KubeObject>(
		objects,
		"NetworkPolicy",
		"sherpany-egress",
	);
	const rules = policy.spec?.egress ?? [];
	t.same(
		rules.map((rule) => rule.ports?.map((p) => `${p.protocol}/${p.port}`)),
		[["UDP/53", "TCP/53", "UDP/5353", "TCP/5353"], ["TCP/5432"]],
		"egress: DNS and PostgreSQL only",
	);
	const database =
		combination.overlay === "dev"
			? "postgres"
			: combination.overlay === "release"
				? "cloudnativepg"
				: DATABASES.find((d) => combination.components.includes(d));
	const to = rules[1]?.to ?? [];
	if (database === "postgres")
		t.same(
			to,
			[
				{
					podSelector: {
						matchLabels: {
							"app.kubernetes.io/name": "sherpany-postgres",
							"app.kubernetes.io/component": "database",
						},
					},
				},
			],
			"PostgreSQL egress only to the StatefulSet's pods",
		);
	else if (database === "cloudnativepg")
		t.same(
			to,
			[{ podSelector: { matchLabels: { "cnpg.io/cluster": "sherpany-db" } } }],
			"PostgreSQL egress only to the CNPG instances",
		);
	else {
		t.ok(
			to.every((peer) => peer.ipBlock),
			"PostgreSQL egress to an external address",
		);
		checkTlsOutside(t, objects);
	}
	const deny = findObject<INetworkPolicy & KubeObject>(
		objects,
		"NetworkPolicy",
		"default-deny",
	);
	t.same(
		deny.spec,
		{ podSelector: {}, policyTypes: ["Ingress", "Egress"] },
		"default deny, both ways, for every pod",
	);
	const ingress = findObject<INetworkPolicy & KubeObject>(
		objects,
		"NetworkPolicy",
		"sherpany-ingress",
	);
	t.same(
		ingress.spec?.ingress?.map((rule) => rule.ports?.map((p) => p.port)),
		[["http"], ["admin"]],
		"the app is reachable on its ports only",
	);
}

/** Only the public half of the CloudNativePG CA reaches the app's pods. */
function checkDatabaseCa(t: Tap, objects: KubeObject[]): void {
	const deployment = findObject<IDeployment & KubeObject>(
		objects,
		"Deployment",
		"sherpany",
	);
	for (const volume of deployment.spec?.template.spec?.volumes ?? [])
		for (const source of volume.projected?.sources ?? [])
			if (source.secret?.name === "sherpany-db-ca")
				t.same(
					source.secret.items,
					[{ key: "ca.crt", path: "ca.crt" }],
					"only ca.crt of sherpany-db-ca is mounted, never ca.key",
				);
}

function checkIngress(t: Tap, objects: KubeObject[]): void {
	const ingress = objects.find((o) => o.kind === "Ingress") as
		| (IIngress & KubeObject)
		| undefined;
	if (!ingress) return;
	const paths =
		ingress.spec?.rules?.flatMap((rule) => rule.http?.paths ?? []) ?? [];
	t.same(
		paths.map((p) => p.path).sort(),
		["/health", "/users"],
		"the Ingress routes /users and /health only",
	);
	for (const path of paths) {
		t.equal(path.pathType, "Exact", `${path.path} is matched exactly`);
		t.same(
			path.backend.service,
			{ name: "sherpany", port: { name: "http" } },
			`${path.path} goes to Service sherpany's http port`,
		);
	}
	const hosts = ingress.spec?.rules?.map((rule) => rule.host);
	t.same(
		ingress.spec?.tls?.flatMap((tls) => tls.hosts),
		hosts,
		"TLS covers every host",
	);
}

/** The seed template runs the Deployment's image against the Deployment's database, as it has it. */
function checkSeedJob(t: Tap, objects: KubeObject[]): void {
	const cronJob = objects.find(
		(o) => o.kind === "CronJob" && o.metadata.name === "sherpany-seed",
	) as (ICronJob & KubeObject) | undefined;
	if (!cronJob) return;
	t.equal(
		cronJob.spec?.suspend,
		true,
		"the seed CronJob never runs on its own",
	);
	const seed = podSpecOf(cronJob) as IPodSpec;
	const deployment = findObject<IDeployment & KubeObject>(
		objects,
		"Deployment",
		"sherpany",
	);
	const pod = deployment.spec?.template.spec as IPodSpec;
	const [container] = seed.containers;
	const migrate = pod.initContainers?.[0];
	t.same(container?.args, ["seed"], "it runs sherpany seed");
	t.equal(
		container?.image,
		pod.containers[0]?.image,
		"with the Deployment's image",
	);
	t.same(
		container?.envFrom,
		migrate?.envFrom,
		"with the settings of the Deployment's migrate (seed writes, as migrate does)",
	);
	t.same(
		container?.volumeMounts,
		migrate?.volumeMounts,
		"with the Deployment's secret mounts",
	);
	t.same(
		seed.volumes,
		pod.volumes,
		"with the Deployment's volumes (component listed after the database)",
	);
	t.same(
		seed.securityContext,
		pod.securityContext,
		"with the Deployment's pod security context",
	);
	t.equal(
		seed.serviceAccountName,
		pod.serviceAccountName,
		"as the Deployment's ServiceAccount",
	);
	t.equal(
		seed.restartPolicy,
		"Never",
		"a failed seed is retried by the Job, not restarted in place",
	);
}

/**
 * The postgres component's three roles: serve reads as sherpany_serve, the
 * writers (migrate, seed) as sherpany_migrate, each container sees only its
 * own password, and only PostgreSQL's pod holds the superuser's.
 */
function checkDatabaseRoles(
	t: Tap,
	objects: KubeObject[],
	combination: Combination,
): void {
	const statefulSet = objects.find(
		(o) => o.kind === "StatefulSet" && o.metadata.name === "sherpany-postgres",
	);
	if (!statefulSet) return;
	const deployment = findObject<IDeployment & KubeObject>(
		objects,
		"Deployment",
		"sherpany",
	);
	const pod = deployment.spec?.template.spec as IPodSpec;
	const cronJob = objects.find(
		(o) => o.kind === "CronJob" && o.metadata.name === "sherpany-seed",
	);
	const seedPod = cronJob ? (podSpecOf(cronJob) as IPodSpec) : undefined;
	const app: [string, IPodSpec, IContainer | undefined, string, string][] = [
		["serve", pod, pod.containers[0], "sherpany_serve", "serve-password"],
		[
			"migrate",
			pod,
			pod.initContainers?.[0],
			"sherpany_migrate",
			"migrate-password",
		],
		...(seedPod
			? [
					[
						"seed",
						seedPod,
						seedPod.containers[0],
						"sherpany_migrate",
						"migrate-password",
					] as [string, IPodSpec, IContainer | undefined, string, string],
				]
			: []),
	];
	for (const [label, spec, container, role, key] of app) {
		const env = resolveEnv(container as IContainer, objects, { secrets: {} });
		t.equal(env.PGUSER, role, `${label} connects as ${role}`);
		// serve also reads the API tokens' Secret, when there is one.
		const tokens =
			label === "serve" && env.API_TOKENS_FILE
				? { [`${dirname(env.API_TOKENS_FILE)}/*`]: "sherpany-api-tokens/*" }
				: {};
		t.same(
			readableSecretFiles(spec, container as IContainer),
			{ [env.PGPASSWORD_FILE ?? ""]: `sherpany-database/${key}`, ...tokens },
			`${label} reads its password from ${key}, and sees no other key of the Secret`,
		);
	}
	const postgres = (podSpecOf(statefulSet) as IPodSpec)
		.containers[0] as IContainer;
	const env = resolveEnv(postgres, objects, { secrets: {} });
	const files = readableSecretFiles(
		podSpecOf(statefulSet) as IPodSpec,
		postgres,
	);
	t.equal(
		files[env.POSTGRES_PASSWORD_FILE ?? ""],
		"sherpany-database/superuser-password",
		"PostgreSQL's superuser has a password of its own",
	);
	t.notOk(
		["sherpany_serve", "sherpany_migrate"].includes(env.POSTGRES_USER ?? ""),
		`the superuser (${env.POSTGRES_USER}) is neither app role`,
	);
	t.same(
		[env.SHERPANY_MIGRATE_PASSWORD_FILE, env.SHERPANY_SERVE_PASSWORD_FILE].map(
			(file) => files[file ?? ""],
		),
		["sherpany-database/migrate-password", "sherpany-database/serve-password"],
		"the init script reads the same Secret keys the app's containers use",
	);
	const initdb = (podSpecOf(statefulSet) as IPodSpec).volumes?.find(
		(v) =>
			v.name ===
			postgres.volumeMounts?.find(
				(m) => m.mountPath === "/docker-entrypoint-initdb.d",
			)?.name,
	);
	const scripts = objects.find(
		(o) =>
			o.kind === "ConfigMap" && o.metadata.name === initdb?.configMap?.name,
	);
	// Generated from the component's files, never a pasted copy that could
	// drift from the roles.sql the least-privilege suite tests.
	t.same(
		scripts?.data,
		{
			"10-roles.sql": COMPONENT_SQL["roles.sql"],
			"20-logins.sql": COMPONENT_SQL["logins.sql"],
		},
		`${combination.label}: the image's initdb runs roles.sql, then logins.sql, as they are on disk`,
	);
}

/** Mounted file path → `secret/key`, for every Secret key a container can read. */
function readableSecretFiles(
	pod: IPodSpec,
	container: IContainer,
): Record<string, string> {
	const files: Record<string, string> = {};
	for (const mount of container.volumeMounts ?? []) {
		const secret = pod.volumes?.find((v) => v.name === mount.name)?.secret;
		if (!secret) continue;
		// A Secret volume without items projects every key: name that.
		// An overlay's generated Secret has kustomize's hash suffix.
		for (const item of secret.items ?? [{ key: "*", path: "*" }])
			files[`${mount.mountPath}/${item.path}`] =
				`${secret.secretName?.replace(/-[a-z0-9]{10}$/, "")}/${item.key}`;
	}
	return files;
}

/** A ServiceMonitor (monitoring component) must select a Service that exists, on a port it has. */
function checkServiceMonitors(t: Tap, objects: KubeObject[]): void {
	type Monitor = KubeObject & {
		spec: {
			selector: { matchLabels?: Record<string, string> };
			endpoints: { port?: string }[];
		};
	};
	for (const monitor of objects.filter(
		(o) => o.kind === "ServiceMonitor",
	) as Monitor[]) {
		const wanted = monitor.spec.selector.matchLabels ?? {};
		const services = (
			objects.filter((o) => o.kind === "Service") as (IService & KubeObject)[]
		).filter((service) =>
			Object.entries(wanted).every(
				([key, value]) => service.metadata.labels?.[key] === value,
			),
		);
		t.same(
			services.map((s) => s.metadata.name),
			["sherpany-admin"],
			`ServiceMonitor ${monitor.metadata.name} selects Service sherpany-admin (its labels survive every component)`,
		);
		for (const endpoint of monitor.spec.endpoints)
			t.ok(
				services.some((s) =>
					s.spec?.ports?.some((p) => p.name === endpoint.port),
				),
				`ServiceMonitor ${monitor.metadata.name} scrapes a port the Service has (${endpoint.port})`,
			);
	}
}

type Tap = Test;
