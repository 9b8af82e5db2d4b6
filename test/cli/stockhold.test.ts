import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tempDir } from '../process/server-process.js';

const BIN = join(ROOT, 'bin', 'stockhold.mjs');
const COMMANDS = ['serve', 'migrate', 'seed', 'verify', 'flash-sale', 'doctor'];

function stockhold(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('stockhold help lists every command, and every command has --help', async () => {
  const [help, unknown, ...helps] = await Promise.all([
    stockhold(['help']),
    stockhold(['bogus']),
    ...COMMANDS.map((command) => stockhold([command, '--help'])),
  ]);
  assert.equal(help.code, 0, help.stderr);
  for (const command of [...COMMANDS, 'help']) assert.match(help.stdout, new RegExp(`^  ${command} +\\S`, 'm'), command);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^stockhold: unknown command "bogus"/);
  COMMANDS.forEach((command, i) => {
    const run = helps[i] as Awaited<ReturnType<typeof stockhold>>;
    assert.equal(run.code, 0, `${command} --help: ${run.stderr}`);
    assert.match(run.stdout, new RegExp(`usage: .*${command}|^stockhold ${command}`, 'm'), `${command} --help prints its usage:\n${run.stdout}`);
  });
});

test('stockhold doctor prints the configuration with secrets masked, one line per check, and exits 1 when one fails', async (t) => {
  const dir = tempDir(t);
  const env = {
    DATABASE_URL: `sqlite:${join(dir, 'd.db')}`,
    AUTH_MODE: 'jwt',
    AUTH_JWT_SECRET: 'the-secret-that-must-never-be-printed-0123',
    METRICS_TOKEN: 'metrics-token-never-printed',
    RATE_LIMIT_REDIS_URL: 'redis://:redis-password@127.0.0.1:6379',
  };
  const missing = await stockhold(['doctor'], env);
  assert.equal(missing.code, 1);
  const checks = (out: string) => out.split('\n').filter((l) => /^(ok|FAIL) /.test(l)).map((l) => l.split(/ +/).slice(0, 2).join(' '));
  assert.deepEqual(checks(missing.stdout), ['ok config', 'FAIL store', 'ok redis', 'ok clock']);
  assert.match(missing.stdout, /^FAIL +store +no database at /m);

  assert.equal((await stockhold(['migrate'], env)).code, 0);
  const healthy = await stockhold(['doctor'], env);
  assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
  assert.deepEqual(checks(healthy.stdout), ['ok config', 'ok store', 'ok redis', 'ok clock']);
  assert.match(healthy.stdout, /^ok +store +sqlite:\S+ answers; schema version 1 of 1$/m);
  assert.match(healthy.stdout, /^config +auth\.mode = "jwt"$/m);
  assert.match(healthy.stdout, /^config +rateLimit\.redisUrl = "redis:\/\/:\*\*\*@127\.0\.0\.1:6379"$/m);
  for (const secret of ['the-secret-that-must-never-be-printed', 'metrics-token-never-printed', 'redis-password']) {
    assert.ok(!healthy.stdout.includes(secret), `${secret} is masked`);
  }

  const noRedis = await stockhold(['doctor'], { ...env, RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:1' });
  assert.equal(noRedis.code, 1);
  assert.deepEqual(checks(noRedis.stdout), ['ok config', 'ok store', 'FAIL redis', 'ok clock']);
});
