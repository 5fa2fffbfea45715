// Provisioning (admins): how to connect Okta or Entra over SCIM, the base URL to give them, and the last SCIM
// requests with their outcome, so an admin sees what the provider sent and what it was told.
import { get } from '../api.js';
import { Problem, useLoad, when } from '../ui.js';
import type { ScimRequest } from '../types.js';

export function ProvisioningPage() {
  const requests = useLoad(() => get<{ items: ScimRequest[] }>('/scim/requests?limit=100'), []);
  const base = `${location.origin}/scim/v2`;
  return (
    <section>
      <h1>Provisioning</h1>
      <p>
        Identity providers (Okta, Microsoft Entra) and HR systems create, update and deactivate users through SCIM 2.0.
        Give them this base URL: <code data-testid="scim-base">{base}</code>
      </p>
      <h2>The token</h2>
      <p>
        Create an API key of role <code>hr-feed</code> for the provider and paste it as its bearer token (Okta) or
        secret token (Entra). It is shown only once:
      </p>
      <pre>npm run keys:create -- --name "Okta provisioning" --role hr-feed</pre>
      <p>
        or <code>POST /api/v1/keys</code> with <code>{'{"name":"Okta provisioning","role":"hr-feed"}'}</code>. The
        attribute mapping and what each provider sends: docs/scim.md.
      </p>
      <h2>Last SCIM requests</h2>
      <button type="button" onClick={requests.reload}>
        Refresh
      </button>
      <Problem error={requests.error} />
      {requests.loading && !requests.data && <p>Loading…</p>}
      {requests.data && requests.data.items.length === 0 && <p>No SCIM request yet.</p>}
      <div class="table-wrap">
        <table data-testid="scim-requests">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Request</th>
              <th scope="col">Outcome</th>
              <th scope="col">Key</th>
            </tr>
          </thead>
          <tbody>
            {requests.data?.items.map((r) => (
              <tr key={`${r.at}${r.path}`} class={r.outcome === 'ok' ? '' : 'failed'}>
                <td>{when(r.at)}</td>
                <td>
                  <code>
                    {r.method} {r.path}
                  </code>
                </td>
                <td>
                  {r.status} {r.outcome}
                  {r.scimType && ` (${r.scimType})`}
                  {r.detail && (
                    <>
                      <br />
                      <small>{r.detail}</small>
                    </>
                  )}
                </td>
                <td>{r.key?.name ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
