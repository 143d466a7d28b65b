// The floor of an exec probe, for bench/startup.mjs: a GET of /health on
// 127.0.0.1:<argv[2]> over node:net, as check-health sends it, then exit 0
// on a 2xx status line. No CLI, settings, timeout or error messages.
const { connect } = require("node:net");

const socket = connect({ host: "127.0.0.1", port: Number(process.argv[2]) });
socket.setEncoding("latin1");
socket.on("connect", () =>
	socket.write(
		"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
	),
);
socket.on("data", (chunk) => {
	socket.destroy();
	process.exit(/^HTTP\/1\.[01] 2\d\d /.test(chunk) ? 0 : 1);
});
// Closed without a status line, or not reached: not healthy.
socket.on("end", () => process.exit(1));
socket.on("error", () => process.exit(1));
