// The three availability attacks of docs/SECURITY.md, run against a real server process, printing
// what each costs everyone else. `npx tsx bench/availability-attacks.ts [--root <checkout>]`;
// --root runs the server of another checkout (for before/after comparisons); --only keys,sockets,nested
// runs some of them; --lift-limits runs the keys attack with rate limits out of the way, to show
// that memory stays bounded by the keys themselves, not by 429s. About two minutes.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { SignJWT } from 'jose';

const rootArg = process.argv.indexOf('--root');
const ROOT = resolve(rootArg > 0 ? (process.argv[rootArg + 1] ?? '.') : '.');
const SECRET = 'availability-attack-secret-0123456789abcdef';
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', ...env },
    stdio: 'ignore',
  });
  for (let i = 0; i < 300; i++) {
    if ((await get(port, '/healthz', '127.0.0.1', 500)).status === 200) return { child, port };
    await sleep(100);
  }
  throw new Error('server did not start');
}

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

function get(port: number, path: string, localAddress: string, timeoutMs = 5_000): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => done({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done({ status: 0, ms: performance.now() - started }));
    req.end();
  });
}

function post(port: number, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((done) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers }, timeout: 30_000 },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
    req.end(body);
  });
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? NaN;

/** Probes /healthz every `everyMs` until `stop()` says so: latencies, a 5 s timeout counting as 5,000 ms. */
async function probeHealth(port: number, everyMs: number, stop: () => boolean): Promise<{ p50: number; p99: number; failed: number; n: number }> {
  const latencies: number[] = [];
  let failed = 0;
  while (!stop()) {
    const { status, ms } = await get(port, '/healthz', '127.0.0.4');
    if (status !== 200) failed++;
    latencies.push(status === 200 ? ms : 5_000);
    await sleep(everyMs);
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed, n: latencies.length };
}

const onlyArg = process.argv.indexOf('--only');
const ONLY = onlyArg > 0 ? (process.argv[onlyArg + 1] ?? '').split(',') : ['keys', 'sockets', 'nested'];
const LIFT_LIMITS = process.argv.includes('--lift-limits');

async function rateLimitKeys(): Promise<void> {
  const lifted: Record<string, string> = LIFT_LIMITS ? { RATE_LIMIT_MAX: '100000000', RESERVE_RATE_LIMIT_MAX: '100000000' } : {};
  const { child, port } = await startServer({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, ...lifted });
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ role: 'service' }).setProtectedHeader({ alg: 'HS256' }).setSubject('storefront').setIssuedAt(now).setExpirationTime(now + 3600).sign(new TextEncoder().encode(SECRET));
  const auth = { authorization: `Bearer ${token}` };
  const before = rssMb(child.pid as number);
  const statuses = new Map<number, number>();
  const send = async (n: number, chars: number) => {
    for (let i = 0; i < n; i++) {
      const body = Buffer.from(JSON.stringify({ userId: `${i}-${chars}-${'x'.repeat(chars)}`, sku: 'LAPTOP001', quantity: 1 }));
      const status = await post(port, '/inventory/reserve', body, auth);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await send(300, 1_000_000);
  await send(3_000, 20_000);
  const right = rssMb(child.pid as number);
  await sleep(10_000);
  const later = rssMb(child.pid as number);
  child.kill('SIGKILL');
  say(`rate-limit keys${LIFT_LIMITS ? ' (rate limits lifted)' : ''}: 300 userIds of 1,000,000 chars + 3,000 of 20,000 chars; answers ${JSON.stringify(Object.fromEntries(statuses))}`);
  say(`  RSS ${before.toFixed(0)} MB before, ${right.toFixed(0)} MB right after, ${later.toFixed(0)} MB 10 s later`);
}

async function idleSockets(): Promise<void> {
  const { child, port } = await startServer({});
  const held: Socket[] = [];
  for (let batch = 0; batch < 201; batch++) {
    const opened = Array.from({ length: 50 }, () => {
      const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      socket.on('error', () => undefined);
      socket.once('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
      return new Promise<void>((done) => {
        socket.once('data', () => done());
        socket.once('close', () => done());
        setTimeout(done, 2_000);
      }).then(() => held.push(socket));
    });
    await Promise.all(opened);
  }
  const open = held.filter((s) => !s.destroyed).length;
  let stopped = false;
  const health = probeHealth(port, 100, () => stopped);
  const attempts: number[] = [];
  for (let i = 0; i < 40; i++) {
    attempts.push((await get(port, '/inventory', '127.0.0.3', 2_000)).status);
    await sleep(250);
  }
  stopped = true;
  const h = await health;
  for (const s of held) s.destroy();
  child.kill('SIGKILL');
  const ok = attempts.filter((s) => s === 200).length;
  say(`idle sockets: 10,050 opened from 127.0.0.2, ${open} still open after sending one request each`);
  say(`  second client (127.0.0.3, a new connection every 250 ms): ${ok}/${attempts.length} succeeded`);
  say(`  /healthz (127.0.0.4): p50 ${h.p50.toFixed(1)} ms, p99 ${h.p99.toFixed(1)} ms, ${h.failed}/${h.n} failed`);
}

async function nestedBodies(): Promise<void> {
  const { child, port } = await startServer({});
  let stopped = false;
  const baseline = probeHealth(port, 100, () => stopped);
  await sleep(5_000);
  stopped = true;
  const b = await baseline;
  const nested = Buffer.from('{"a":'.repeat(Math.floor((1024 * 1024 - 1) / 6)) + '1');
  stopped = false;
  const health = probeHealth(port, 100, () => stopped);
  const answers = new Map<number, number>();
  let sent = 0;
  // Four senders, 59 requests in 10 s between them: far under any rate limit.
  await Promise.all(
    [0, 1, 2, 3].map(async (sender) => {
      const until = Date.now() + 10_000;
      while (Date.now() < until && sent < 59) {
        sent++;
        const status = await post(port, '/inventory/reserve', nested);
        answers.set(status, (answers.get(status) ?? 0) + 1);
        await sleep(600 + sender * 10);
      }
    }),
  );
  stopped = true;
  const h = await health;
  child.kill('SIGKILL');
  say(`nested bodies: ${sent} bodies of 1 MiB {"a":{"a":...}} from 4 senders in 10 s; answers ${JSON.stringify(Object.fromEntries(answers))}`);
  say(`  /healthz without attack: p50 ${b.p50.toFixed(1)} ms, p99 ${b.p99.toFixed(1)} ms`);
  say(`  /healthz under attack:   p50 ${h.p50.toFixed(1)} ms, p99 ${h.p99.toFixed(1)} ms, ${h.failed}/${h.n} failed or over 5 s`);
}

say(`server from ${ROOT}`);
if (ONLY.includes('keys')) await rateLimitKeys();
if (ONLY.includes('sockets')) await idleSockets();
if (ONLY.includes('nested')) await nestedBodies();
