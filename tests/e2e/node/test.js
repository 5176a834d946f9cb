// dockerode and Testcontainers against Arca: run by tests/e2e/t_node.sh with DOCKER_HOST set
// to the test's socket and NODE_PATH pointing at the cached node_modules. Prints one line per
// check ("ok <what>") and exits non-zero at the first failure.
"use strict";
const net = require("net");
const Docker = require("dockerode");
const { GenericContainer, Network, Wait } = require("testcontainers");

const registry = process.env.REGISTRY_ADDR;
const redisImage = `${registry}/redis:latest`;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok ${what}`);
}

// One RESP command over a plain socket: what a redis client does.
function redis(host, port, args) {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ host, port }, () => {
      s.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""));
    });
    let buf = "";
    s.setTimeout(5000, () => { s.destroy(); reject(new Error("redis timeout")); });
    s.on("data", (d) => {
      buf += d.toString();
      if (buf.endsWith("\r\n")) { s.end(); resolve(buf.trim()); }
    });
    s.on("error", reject);
  });
}

async function withDockerode() {
  const docker = new Docker(); // DOCKER_HOST
  const version = await docker.version();
  check(version.ApiVersion === "1.51", "dockerode: version");
  const netw = await docker.createNetwork({ Name: "node-net", Labels: { from: "dockerode" } });
  const info = await netw.inspect();
  check(info.Name === "node-net" && info.Labels.from === "dockerode", "dockerode: network create and inspect");
  const vol = await docker.createVolume({ Name: "node-vol" });
  check(vol.name === "node-vol", "dockerode: volume create");
  const vols = await docker.listVolumes({ filters: { name: ["node-vol"] } });
  check(vols.Volumes.length === 1, "dockerode: volume list with a filter");
  const c = await docker.createContainer({
    Image: redisImage,
    HostConfig: { NetworkMode: "node-net", PortBindings: { "6379/tcp": [{ HostPort: "" }] },
                  Binds: ["node-vol:/data"] },
    NetworkingConfig: { EndpointsConfig: { "node-net": { Aliases: ["kv"] } } },
  });
  await c.start();
  const ci = await c.inspect();
  const port = Number(ci.NetworkSettings.Ports["6379/tcp"][0].HostPort);
  check(port > 0, "dockerode: HostPort \"\" gives a port");
  check(ci.NetworkSettings.Networks["node-net"].Aliases[0] === "kv", "dockerode: alias recorded");
  let pong = "";
  for (let i = 0; i < 50 && pong !== "+PONG"; i++) {
    pong = await redis("127.0.0.1", port, ["PING"]).catch(() => "");
    if (pong !== "+PONG") await new Promise((r) => setTimeout(r, 100));
  }
  check(pong === "+PONG", "dockerode: redis answers on the published port");
  const nets = await docker.listNetworks({ filters: { label: ["from=dockerode"] } });
  check(nets.length === 1 && nets[0].Name === "node-net", "dockerode: network list with a filter");
  await c.remove({ force: true });
  await netw.remove();
  await docker.getVolume("node-vol").remove();
  const left = await docker.listNetworks({ filters: { name: ["node-net"] } });
  check(left.length === 0, "dockerode: network removed");
}

async function withTestcontainers() {
  const network = await new Network().start();
  const container = await new GenericContainer(redisImage)
    .withExposedPorts(6379)
    .withNetwork(network)
    .withNetworkAliases("cache")
    .withWaitStrategy(Wait.forListeningPorts())
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(6379);
  check(port > 0, `testcontainers: mapped port ${port} on ${host}`);
  check((await redis(host, port, ["SET", "k", "from-node"])) === "+OK", "testcontainers: redis SET");
  check((await redis(host, port, ["GET", "k"])).endsWith("from-node"), "testcontainers: redis GET");
  // a second container on the same network reaches the first by its alias
  const client = await new GenericContainer(redisImage)
    .withNetwork(network)
    .withCommand(["sleep", "300"])
    .start();
  const res = await client.exec(["redis-cli", "-h", "cache", "GET", "k"]);
  check(res.exitCode === 0 && res.output.trim() === "from-node", "testcontainers: exec, alias on the network");
  await client.stop();
  await container.stop();
  await network.stop();
  const docker = new Docker();
  const still = await docker.listContainers({ all: true, filters: { label: ["org.testcontainers=true"] } });
  check(still.length === 0, "testcontainers: stop removed the containers");
}

// A request whose answer never completes leaves Node with nothing to wait for: it would
// exit silently with status 0. Say which step never finished instead.
let step = "start";
let finished = false;
process.on("beforeExit", () => {
  if (finished) return;
  console.error(`step "${step}" never finished: an API answer or stream did not complete ` +
    "(exec start without an Upgrade header needs the 200 form of the hijacked answer)");
  process.exit(1);
});

(async () => {
  step = "dockerode";
  await withDockerode();
  step = "testcontainers";
  await withTestcontainers();
  finished = true;
  console.log("node ok");
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
