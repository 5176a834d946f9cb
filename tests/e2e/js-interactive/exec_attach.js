// dockerode against arcad: exec with output and exit code, attach to a running container
// with stdin, demultiplexed output. Prints "dockerode ok" or throws.
const Docker = require('dockerode');
const { PassThrough } = require('stream');

const docker = new Docker({ socketPath: process.env.ARCA_SOCK });

function collect(stream) {
  const out = new PassThrough(), err = new PassThrough();
  const o = [], e = [];
  out.on('data', (d) => o.push(d));
  err.on('data', (d) => e.push(d));
  docker.modem.demuxStream(stream, out, err);
  return { out: () => Buffer.concat(o).toString(), err: () => Buffer.concat(e).toString() };
}

async function main() {
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '100'] });
  await c.start();
  try {
    const ex = await c.exec({ Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], AttachStdout: true, AttachStderr: true });
    const s = await ex.start({ hijack: true, stdin: false });
    const got = collect(s);
    await new Promise((res) => s.on('end', res));
    const info = await ex.inspect();
    if (got.out() !== 'out\n' || got.err() !== 'err\n') throw new Error(`exec output: ${JSON.stringify([got.out(), got.err()])}`);
    if (info.ExitCode !== 3 || info.Running) throw new Error(`exec inspect: ${JSON.stringify(info)}`);

    const cat = await docker.createContainer({ Image: 'busybox', Cmd: ['cat'], OpenStdin: true, StdinOnce: true });
    const stream = await cat.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    const got2 = collect(stream);
    await cat.start();
    stream.write('hello through attach\n');
    stream.end();
    const w = await cat.wait();
    await new Promise((res) => setTimeout(res, 200));
    if (got2.out() !== 'hello through attach\n') throw new Error(`attach output: ${JSON.stringify(got2.out())}`);
    if (w.StatusCode !== 0) throw new Error(`attach wait: ${JSON.stringify(w)}`);
    await cat.remove();
  } finally {
    await c.remove({ force: true });
  }
  console.log('dockerode ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
