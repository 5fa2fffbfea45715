import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../src/config.js';

describe('config', () => {
  it('when nothing is set, then the documented defaults apply', () => {
    const c = loadConfig({});
    expect(c).to.include({ port: 3000, dataDir: './data', role: 'all', syncCron: '0 2 * * *', snapshotCron: '*/5 * * * *', logLevel: 'info' });
    expect(c.mongodbUri).to.equal(undefined);
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it('when several values are bad, then the error names each variable', () => {
    try {
      loadConfig({ PORT: 'eighty', ROLE: 'boss', SYNC_CRON: 'every night', SNAPSHOT_CRON: 'often', LOG_LEVEL: 'loud', MONGODB_URI: 'http://x' });
      expect.fail('expected a ConfigError');
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      const names = (err as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(names).to.have.members(['PORT', 'ROLE', 'SYNC_CRON', 'SNAPSHOT_CRON', 'LOG_LEVEL', 'MONGODB_URI']);
      expect((err as ConfigError).problems.join(' ')).to.contain('"boss"');
    }
  });

  it('when a bootstrap key is too short, then it is refused without echoing the key', () => {
    expect(() => loadConfig({ BOOTSTRAP_ADMIN_KEY: 'short-secret' }))
      .to.throw(ConfigError, /BOOTSTRAP_ADMIN_KEY/)
      .and.satisfy((e: Error) => !e.message.includes('short-secret'));
  });

  it('when WEBHOOKS_ALLOW_PRIVATE_TARGETS is unset, then private targets are refused; true allows them; anything but true or false is named', () => {
    expect(loadConfig({}).webhooksAllowPrivateTargets).to.equal(false);
    expect(loadConfig({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' }).webhooksAllowPrivateTargets).to.equal(true);
    expect(() => loadConfig({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'yes' })).to.throw(ConfigError, /WEBHOOKS_ALLOW_PRIVATE_TARGETS/);
  });

  it('when JOB_LOCK_LIFETIME_MS is unset, then a job lock lasts 100 polls and at least 5 s; set, it is kept; under 1 s it is named', () => {
    expect(loadConfig({}).jobLockLifetimeMs).to.equal(100_000);
    expect(loadConfig({ JOB_POLL_MS: '100' }).jobLockLifetimeMs).to.equal(10_000);
    expect(loadConfig({ JOB_POLL_MS: '50' }).jobLockLifetimeMs).to.equal(5_000);
    expect(loadConfig({ JOB_POLL_MS: '100', JOB_LOCK_LIFETIME_MS: '3000' }).jobLockLifetimeMs).to.equal(3_000);
    expect(() => loadConfig({ JOB_LOCK_LIFETIME_MS: '500' })).to.throw(ConfigError, /JOB_LOCK_LIFETIME_MS/);
  });

  it('when TIMEZONE is unset, then it is UTC; an IANA name is kept; an unknown one is named with the value', () => {
    expect(loadConfig({}).timeZone).to.equal('UTC');
    expect(loadConfig({ TIMEZONE: 'Europe/Lisbon' }).timeZone).to.equal('Europe/Lisbon');
    expect(() => loadConfig({ TIMEZONE: 'Europe/Lisboa' })).to.throw(ConfigError, /TIMEZONE: is not an IANA time zone.*"Europe\/Lisboa"/);
  });

  it('when a valid cron and role are given, then they are kept', () => {
    const c = loadConfig({ SYNC_CRON: '30 3 * * 1-5', ROLE: 'worker', PORT: '0' });
    expect(c).to.include({ syncCron: '30 3 * * 1-5', role: 'worker', port: 0 });
  });

  it('when the session settings are unset, then sessions last 8 hours, the secret is generated and Secure follows the request', () => {
    const c = loadConfig({});
    expect(c).to.include({ sessionTtlSeconds: 8 * 3600, sessionCookieSecure: 'auto' });
    expect(c.sessionSecret).to.equal(undefined);
  });

  it('when SESSION_TTL is a duration, then it is read in seconds; out of range or malformed, it is named', () => {
    expect(loadConfig({ SESSION_TTL: '30m' }).sessionTtlSeconds).to.equal(1800);
    expect(loadConfig({ SESSION_TTL: '2d' }).sessionTtlSeconds).to.equal(172_800);
    expect(loadConfig({ SESSION_TTL: '900' }).sessionTtlSeconds).to.equal(900);
    for (const bad of ['10s', '31d', '8 hours', '-1h', '']) {
      expect(() => loadConfig({ SESSION_TTL: bad }), bad).to.throw(ConfigError, /SESSION_TTL/);
    }
  });

  it('when SESSION_SECRET is too short or SESSION_COOKIE_SECURE unknown, then each is named and the secret not echoed', () => {
    try {
      loadConfig({ SESSION_SECRET: 'short-session-secret', SESSION_COOKIE_SECURE: 'maybe' });
      expect.fail('expected a ConfigError');
    } catch (err) {
      const problems = (err as ConfigError).problems;
      expect(problems.map((p) => p.split(':')[0])).to.have.members(['SESSION_SECRET', 'SESSION_COOKIE_SECURE']);
      expect(problems.join(' ')).to.not.contain('short-session-secret');
    }
    expect(loadConfig({ SESSION_SECRET: 's'.repeat(32) }).sessionSecret).to.equal('s'.repeat(32));
  });
});
