/**
 * The cloudnativepg component's read replica, as `serve` would load it: the
 * rendered ConfigMap's variables and the operator's app secret (its `uri`
 * key, for `-rw`) give a read URL on the Cluster's `-ro` Service with the
 * primary's credentials and TLS, and no password in the ConfigMap.
 */
import t from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { loadReadReplicaConfig } from "../../src/config/read-replica.ts";
import {
	findGenerated,
	findObject,
	type KubeObject,
	renderWith,
} from "../helpers/kustomize.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

t.test("cloudnativepg: reads go to the Cluster's -ro Service", async (t) => {
	const objects = await renderWith(["cloudnativepg"]);
	const cluster = findObject<KubeObject>(objects, "Cluster", "sherpany-db");
	const configMap = findGenerated<
		KubeObject & { data: Record<string, string> }
	>(objects, "ConfigMap", "sherpany-database");
	const env = configMap.data;
	t.notMatch(
		env.DATABASE_READ_URL ?? "",
		/:\/\/[^/@]*:[^/@]*@/,
		"no password in the ConfigMap",
	);
	// What the kubelet mounts in serve's container: the read-only role's
	// password (Secret sherpany-db-serve), and the CA.
	t.equal(env.DATABASE_URL_FILE, undefined, "serve has no URL: the owner's");
	const files: Record<string, string> = {
		[env.PGPASSWORD_FILE ?? "missing"]: "s3cret",
		[env.PGSSLROOTCERT ?? "missing"]: CA,
	};
	const io = {
		readFile: (path: string): string => {
			const content = files[path];
			if (content === undefined) throw new Error(`ENOENT ${path}`);
			return content;
		},
	};
	const primary = loadDatabaseConfig(env, {}, io);
	const replica = loadReadReplicaConfig(env, {}, primary, io);
	t.match(replica?.postgres, {
		// The Service's short name: it resolves in the pod's own namespace.
		host: `${cluster.metadata.name}-ro`,
		port: 5432,
		database: "app",
		user: "sherpany_serve",
		password: "s3cret",
		sslMode: "verify-full",
		sslRootCert: CA,
	});
	t.match(primary, {
		host: "sherpany-db-rw",
		user: "sherpany_serve",
		sslMode: "verify-full",
	});
});
