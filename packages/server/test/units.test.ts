// Unit checks: snowflake ordering, configuration validation, API key hashing and permission parsing.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashApiKey, parsePermissions } from '../src/auth/api-keys.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { isSnowflake, SnowflakeGenerator } from '../src/util/snowflake.js';

test('snowflakes are unique, time-ordered 64-bit decimal strings', () => {
  const ids = new SnowflakeGenerator(5n);
  const many = Array.from({ length: 10_000 }, () => ids.next());
  assert.equal(new Set(many).size, many.length);
  for (let i = 1; i < many.length; i++) assert.ok(BigInt(many[i]!) > BigInt(many[i - 1]!));
  assert.ok(many.every(isSnowflake));
  const ms = Number(BigInt(many[0]!) >> 22n) + 1420070400000;
  assert.ok(Math.abs(ms - Date.now()) < 5000);
  assert.equal(isSnowflake('18446744073709551616'), false);
  assert.equal(isSnowflake('12a'), false);
});

test('configuration: defaults, a kept secret key, and clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'astral-config-'));
  const config = loadConfig({ ASTRAL_DATA_DIR: dir });
  assert.equal(config.port, 8000);
  assert.ok(config.media.workers >= 1);
  assert.equal(config.secretKey.length, 32);
  assert.ok(readFileSync(join(dir, 'secret.key'), 'utf8').length > 40);
  assert.deepEqual(loadConfig({ ASTRAL_DATA_DIR: dir }).secretKey, config.secretKey, 'the generated key is kept');
  const bad: Record<string, string>[] = [
    { PORT: '70000' },
    { ASTRAL_WORKERS: '0' },
    { ASTRAL_DEMO: 'maybe' },
    { ASTRAL_SECRET_KEY: 'short' },
    { ASTRAL_BOOTSTRAP_API_KEY: 'not-a-key' },
    { ASTRAL_RTC_MIN_PORT: '5000', ASTRAL_RTC_MAX_PORT: '4000' },
    { ASTRAL_WORKERS: '2', ASTRAL_RTC_MIN_PORT: '5000', ASTRAL_RTC_MAX_PORT: '5001' }, // no port left above the two WebRtcServers'
  ];
  for (const env of bad) assert.throws(() => loadConfig({ ASTRAL_DATA_DIR: dir, ...env }), ConfigError, JSON.stringify(env));
  assert.deepEqual(loadConfig({ ASTRAL_DATA_DIR: dir, ASTRAL_ALLOWED_ORIGINS: 'https://a.example, https://b.example' }).allowedOrigins, [
    'https://a.example',
    'https://b.example',
  ]);
});

test('API keys hash deterministically; permissions are checked by name', () => {
  assert.equal(hashApiKey('ak_x'), hashApiKey('ak_x'));
  assert.notEqual(hashApiKey('ak_x'), hashApiKey('ak_y'));
  assert.equal(hashApiKey('ak_x').length, 64);
  assert.deepEqual(parsePermissions('calls.read, tokens.create,calls.read'), ['calls.read', 'tokens.create']);
  assert.throws(() => parsePermissions(''), /at least one/);
  assert.throws(() => parsePermissions('calls.write'), /unknown permission/);
});
