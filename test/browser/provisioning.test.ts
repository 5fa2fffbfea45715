// The console's Provisioning page (issue 22): an admin sees the SCIM base URL, how to make the provider's key, and
// the last SCIM requests with their outcome; other roles have no such page.
import { expect } from 'chai';
import { useConsoleFixture } from './console-fixture.js';

describe('admin console: Provisioning (browser)', function () {
  this.timeout(120_000);
  const f = useConsoleFixture('provisioning');

  it('when an admin opens Provisioning after a provider called, then the base URL, the key command and each request with its outcome show', async () => {
    const hr = await f.t.keyFor('hr-feed');
    const user = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'prov.user@example.com', name: { givenName: 'Pat', familyName: 'Lee' } };
    const scim = (body: unknown) => f.t.api.post('/scim/v2/Users').set('Authorization', `Bearer ${hr}`).set('Content-Type', 'application/scim+json').send(JSON.stringify(body));
    expect((await scim(user)).status).to.equal(201);
    expect((await scim(user)).status).to.equal(409);
    // Recorded once answered: wait until the log holds both.
    await f.waitFor(async () => ((await f.get('/scim/requests')).items as unknown[]).length >= 2, 'the log of both requests');

    await f.signIn();
    await f.page.getByRole('link', { name: 'Provisioning' }).click();
    await f.page.getByRole('heading', { name: 'Provisioning', exact: true }).waitFor();
    expect(await f.page.getByTestId('scim-base').textContent()).to.equal(`${f.base}/scim/v2`);
    expect(await f.page.locator('pre').textContent()).to.contain('--role hr-feed');
    const rows = f.page.getByTestId('scim-requests').locator('tbody tr');
    await rows.nth(1).waitFor();
    expect(await rows.nth(0).textContent()).to.contain('POST /scim/v2/Users').and.contain('409 client error (uniqueness)').and.contain('test hr-feed');
    expect(await rows.nth(1).textContent()).to.contain('201 ok');
    expect(f.consoleErrors).to.deep.equal([]);
  });

  it('when a viewer signs in, then there is no Provisioning link', async () => {
    await f.signIn(await f.t.keyFor('viewer'));
    await f.page.getByRole('link', { name: 'Groups' }).waitFor();
    expect(await f.page.getByRole('link', { name: 'Provisioning' }).count()).to.equal(0);
  });
});
