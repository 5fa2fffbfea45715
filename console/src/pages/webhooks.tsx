// Webhooks (admins): the subscriptions, their state and why, their recent deliveries with every attempt, and a
// button that sends a test event and shows what the receiver answered.
import { useState } from 'preact/hooks';
import { enc, get, send } from '../api.js';
import type { components } from '../generated/api-schema.js';
import { Problem, toApiError, useLoad, when } from '../ui.js';
import type { ApiError } from '../api.js';

type Webhook = components['schemas']['Webhook'];
type Delivery = components['schemas']['WebhookDelivery'];
type TestResult = components['schemas']['WebhookTestResult'];

function Deliveries({ id }: { id: string }) {
  const deliveries = useLoad(() => get<{ items: Delivery[] }>(`/webhooks/${enc(id)}/deliveries?limit=20`), [id]);
  return (
    <>
      <Problem error={deliveries.error} />
      {deliveries.data && deliveries.data.items.length === 0 && <p>No delivery yet.</p>}
      {deliveries.data && deliveries.data.items.length > 0 && (
        <div class="table-wrap">
          <table data-testid={`deliveries-${id}`}>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">State</th>
                <th scope="col">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.data.items.map((d) => (
                <tr key={d.id} class={d.state === 'delivered' ? '' : 'failed'}>
                  <td>
                    {d.type} <code>{d.externalId}</code> in <a href={`#/groups/${enc(d.groupId)}`}>{d.groupId}</a>
                  </td>
                  <td>{d.state}</td>
                  <td>
                    {d.attempts.map((a, i) => (
                      <div key={i}>
                        {when(a.at)}: {a.statusCode ?? a.error} ({a.durationMs} ms){a.manual ? ', by hand' : ''}
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <button type="button" onClick={deliveries.reload}>
        Refresh deliveries
      </button>
    </>
  );
}

function Subscription({ hook, onChanged }: { hook: Webhook; onChanged(): void }) {
  const [test, setTest] = useState<TestResult>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <article class="card" data-testid={`webhook-${hook.id}`}>
      <h2>{hook.description ?? hook.url}</h2>
      <p>
        <code>{hook.url}</code> · {hook.events.join(', ')} · {hook.groups ? `${hook.groups.length} group(s)` : 'every group'}
      </p>
      <p>
        State: <strong data-testid="webhook-state">{hook.state}</strong>
        {hook.stateReason && ` (${hook.stateReason})`}
        {hook.previousSecretExpiresAt && ` · the previous secret signs until ${when(hook.previousSecretExpiresAt)}`}
      </p>
      <button type="button" disabled={busy} onClick={() => act(async () => setTest(await send<TestResult>('POST', `/webhooks/${enc(hook.id)}/test`)))}>
        Send a test event
      </button>{' '}
      {hook.state === 'active' ? (
        <button type="button" disabled={busy} onClick={() => act(async () => (await send('PATCH', `/webhooks/${enc(hook.id)}`, { state: 'disabled' }), onChanged()))}>
          Disable
        </button>
      ) : (
        <button type="button" disabled={busy} onClick={() => act(async () => (await send('PATCH', `/webhooks/${enc(hook.id)}`, { state: 'active' }), onChanged()))}>
          Turn back on
        </button>
      )}
      {test && (
        <p data-testid="test-result" role="status">
          Test event {test.ok ? 'delivered' : 'not delivered'}: {test.statusCode !== undefined ? `answered ${test.statusCode}` : test.error} in {test.durationMs} ms
        </p>
      )}
      <Problem error={error} />
      <h3>Recent deliveries</h3>
      <Deliveries id={hook.id} />
    </article>
  );
}

export function WebhooksPage() {
  const hooks = useLoad(() => get<{ items: Webhook[] }>('/webhooks'), []);
  return (
    <section>
      <h1>Webhooks</h1>
      <p>
        Signed notifications of membership changes, sent to the integrations that subscribed (docs/webhooks.md).
        Subscriptions are made with <code>POST /api/v1/webhooks</code>, whose answer shows the signing secret once.
      </p>
      <button type="button" onClick={hooks.reload}>
        Refresh
      </button>
      <Problem error={hooks.error} />
      {hooks.loading && !hooks.data && <p>Loading…</p>}
      {hooks.data && hooks.data.items.length === 0 && <p>No subscription yet.</p>}
      {hooks.data?.items.map((h) => <Subscription key={h.id} hook={h} onChanged={hooks.reload} />)}
    </section>
  );
}
