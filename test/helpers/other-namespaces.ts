/**
 * `unshare` arguments that run a process as another container sharing one
 * volume would: in network, mount and UTS namespaces of its own (host name
 * `sherpany-other`), seeing `volume` bind-mounted at `mountpoint`. Needs
 * root and util-linux's `unshare`.
 */
const OTHER_HOST_NAME = "sherpany-other";

/** `unshare`'s arguments; append the command to run in those namespaces. */
export function otherNamespacesArgs(
	volume: string,
	mountpoint: string,
): string[] {
	return [
		"--net",
		"--mount",
		"--uts",
		"--propagation=private",
		"sh",
		"-c",
		`hostname ${OTHER_HOST_NAME} && mount --bind "$1" "$2" && shift 2 && exec "$@"`,
		"sh",
		volume,
		mountpoint,
	];
}
