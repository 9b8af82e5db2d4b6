import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({}, '/srv/app');
    assert.equal(config.port, 5000);
    assert.equal(config.host, '127.0.0.1', 'without auth, only this machine may call');
    assert.deepEqual(config.database, { kind: 'sqlite', filename: '/srv/app/data/stockhold.db' });
    assert.equal(config.reservationTtlMs, 300_000);
    assert.equal(config.cleanupIntervalMs, 1_000);
    assert.equal(config.sqliteSynchronous, 'FULL');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.startupCheck, 'refuse');
    assert.deepEqual([config.keepAliveTimeoutMs, config.maxConnectionsPerClient], [5_000, 256]);
    assert.deepEqual(config.ops, { shutdownTimeoutMs: 10_000, accessLog: true, metrics: true, metricsSkuLimit: 1_000, metricsToken: undefined });
    assert.ok(Object.isFrozen(config));
  });

  it('reads KEEP_ALIVE_TIMEOUT and MAX_CONNECTIONS_PER_CLIENT', () => {
    const config = loadConfig({ KEEP_ALIVE_TIMEOUT: '2000', MAX_CONNECTIONS_PER_CLIENT: '8' });
    assert.deepEqual([config.keepAliveTimeoutMs, config.maxConnectionsPerClient], [2_000, 8]);
  });

  it('listens on every interface by default only when callers must authenticate', () => {
    assert.equal(loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'x'.repeat(32) }).host, '0.0.0.0');
    assert.equal(loadConfig({ HOST: '0.0.0.0' }).host, '0.0.0.0');
  });

  it('reads the operating variables and refuses bad ones naming them', () => {
    const ops = loadConfig({ SHUTDOWN_TIMEOUT: '2500', ACCESS_LOG: 'off', METRICS: 'OFF', METRICS_SKU_LIMIT: '5', METRICS_TOKEN: 't'.repeat(16) }).ops;
    assert.deepEqual(ops, { shutdownTimeoutMs: 2500, accessLog: false, metrics: false, metricsSkuLimit: 5, metricsToken: 't'.repeat(16) });
    for (const [variable, value] of [['SHUTDOWN_TIMEOUT', '5s'], ['ACCESS_LOG', 'maybe'], ['METRICS_SKU_LIMIT', '-1'], ['METRICS_TOKEN', 'short']]) {
      assert.throws(() => loadConfig({ [variable as string]: value }), (err: unknown) => err instanceof ConfigError && err.variable === variable);
    }
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      DATABASE_URL: 'sqlite::memory:',
      RESERVATION_TTL: '60000',
      CLEANUP_INTERVAL: '250',
      NODE_ENV: 'production',
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: 'x'.repeat(32),
      LOG_LEVEL: 'WARN',
      SQLITE_SYNCHRONOUS: 'normal',
    });
    assert.deepEqual(
      [config.port, config.host, config.database, config.reservationTtlMs, config.cleanupIntervalMs, config.nodeEnv, config.logLevel, config.sqliteSynchronous],
      [8080, '127.0.0.1', { kind: 'sqlite', filename: ':memory:' }, 60_000, 250, 'production', 'warn', 'NORMAL'],
    );
  });

  it('reads STARTUP_CHECK case-insensitively', () => {
    assert.deepEqual(
      ['refuse', 'REPAIR', 'Off'].map((value) => loadConfig({ STARTUP_CHECK: value }).startupCheck),
      ['refuse', 'repair', 'off'],
    );
  });

  it('reads RESERVE_FAST_PATHS: on by default, on or off in any case, anything else names the variable', () => {
    assert.deepEqual(
      [undefined, 'on', 'OFF', 'Off'].map((value) => loadConfig(value === undefined ? {} : { RESERVE_FAST_PATHS: value }).reserveFastPaths),
      [true, true, false, false],
    );
    assert.throws(
      () => loadConfig({ RESERVE_FAST_PATHS: 'sometimes' }),
      (err: unknown) => err instanceof ConfigError && err.variable === 'RESERVE_FAST_PATHS' && /expected on or off/.test(err.message),
    );
  });

  it('treats empty values as unset', () => {
    assert.equal(loadConfig({ PORT: '', RESERVATION_TTL: '  ' }).port, 5000);
  });

  it('a bad value fails naming the variable', () => {
    const bad: Record<string, string> = {
      PORT: '70000',
      RESERVATION_TTL: 'five minutes',
      CLEANUP_INTERVAL: '-1',
      DATABASE_URL: 'mysql://localhost/db',
      LOG_LEVEL: 'loud',
      SQLITE_SYNCHRONOUS: 'off',
      HOST: 'not a host!',
      STARTUP_CHECK: 'fix',
      REQUEST_TIMEOUT: '10',
      MAX_CONNECTIONS: '0',
      MAX_CONNECTIONS_PER_CLIENT: '0',
      KEEP_ALIVE_TIMEOUT: '50',
      RATE_LIMIT_LOCAL_CLIENTS: '10',
      CORS_ORIGINS: 'shop.example.com',
    };
    for (const [name, value] of Object.entries(bad)) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === name && err.message.startsWith(`${name}:`),
        name,
      );
    }
  });

  it('keeps the header deadline within the request deadline', () => {
    assert.throws(
      () => loadConfig({ REQUEST_TIMEOUT: '5000', HEADERS_TIMEOUT: '6000' }),
      (err: unknown) => err instanceof ConfigError && err.variable === 'HEADERS_TIMEOUT',
    );
    assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:3000' }).corsOrigins, ['https://a.example', 'http://localhost:3000']);
  });

  it('never echoes a database password', () => {
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'mongodb://admin:hunter2@db/x' }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('hunter2'),
    );
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://app:s3cret@db:5432/x' }).databaseUrlForLogs, 'postgres://app:***@db:5432/x');
  });

  describe('rate limiting', () => {
    it('defaults to 1200 requests a minute, 120 reservations, counted per process, no proxy trusted', () => {
      const config = loadConfig({});
      assert.deepEqual(config.rateLimit, { max: 1_200, windowMs: 60_000, reserveMax: 120, redisUrl: undefined, localClients: 100_000 });
      assert.ok(Object.isFrozen(config.rateLimit));
      assert.equal(config.trustProxy, false);
    });

    it('reads RATE_LIMIT_MAX, RATE_LIMIT_WINDOW, RESERVE_RATE_LIMIT_MAX, RATE_LIMIT_REDIS_URL and TRUST_PROXY', () => {
      const config = loadConfig({
        RATE_LIMIT_MAX: '0',
        RATE_LIMIT_WINDOW: '1000',
        RESERVE_RATE_LIMIT_MAX: '0',
        RATE_LIMIT_REDIS_URL: 'rediss://:pw@cache.internal:6380/2',
        TRUST_PROXY: '10.0.0.0/8, 192.168.1.7, loopback, fd00::/8',
        RATE_LIMIT_LOCAL_CLIENTS: '5000',
      });
      assert.deepEqual(config.rateLimit, { max: 0, windowMs: 1_000, reserveMax: 0, redisUrl: 'rediss://:pw@cache.internal:6380/2', localClients: 5_000 });
      assert.deepEqual(config.trustProxy, ['10.0.0.0/8', '192.168.1.7', 'loopback', 'fd00::/8']);
      assert.deepEqual(['true', 'TRUE', 'false'].map((value) => loadConfig({ TRUST_PROXY: value }).trustProxy), [true, true, false]);
    });

    it('a bad value fails naming the variable', () => {
      const bad: Array<[string, string]> = [
        ['RATE_LIMIT_MAX', '-1'],
        ['RATE_LIMIT_MAX', 'lots'],
        ['RATE_LIMIT_WINDOW', '999'],
        ['RATE_LIMIT_WINDOW', '1 minute'],
        ['RESERVE_RATE_LIMIT_MAX', '1.5'],
        ['RATE_LIMIT_REDIS_URL', 'http://cache:6379'],
        ['RATE_LIMIT_REDIS_URL', 'cache.internal:6379'],
        ['TRUST_PROXY', 'yes'],
        ['TRUST_PROXY', '2'],
        ['TRUST_PROXY', '10.0.0.0/33'],
        ['TRUST_PROXY', '10.0.0.1, lb.internal'],
      ];
      for (const [name, value] of bad) {
        assert.throws(
          () => loadConfig({ [name]: value }),
          (err: unknown) => err instanceof ConfigError && err.variable === name && err.message.startsWith(`${name}:`),
          `${name}=${value}`,
        );
      }
    });

    it('never echoes a Redis password', () => {
      assert.throws(
        () => loadConfig({ RATE_LIMIT_REDIS_URL: 'redis//:hunter2@cache:6379' }),
        (err: unknown) => err instanceof ConfigError && !err.message.includes('hunter2'),
      );
    });
  });
});
