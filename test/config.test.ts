import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({}, '/srv/app');
    assert.equal(config.port, 5000);
    assert.equal(config.host, '0.0.0.0');
    assert.deepEqual(config.database, { kind: 'sqlite', filename: '/srv/app/data/stockhold.db' });
    assert.equal(config.reservationTtlMs, 300_000);
    assert.equal(config.cleanupIntervalMs, 1_000);
    assert.equal(config.sqliteSynchronous, 'FULL');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.startupCheck, 'refuse');
    assert.ok(Object.isFrozen(config));
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      DATABASE_URL: 'sqlite::memory:',
      RESERVATION_TTL: '60000',
      CLEANUP_INTERVAL: '250',
      NODE_ENV: 'production',
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
});
