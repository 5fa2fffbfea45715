// Gauges of webhook delivery, computed on scrape: per subscription not disabled, how many events wait after its
// position (queue depth) and how long the oldest of them has waited (the age of its log entry). Reads each
// subscription's position and the log entries after it (by `_id`), a few hundred point reads at most.
import { Gauge, type Registry } from 'prom-client';
import { logSeq, readLogAfter } from '../changes/change-log.js';
import { progress, webhooks } from './webhook.model.js';

/** Log entries read per subscription for a scrape at most (up to 5,000 events each): a deeper queue shows as what they hold. */
const ENTRIES_READ = 20;

async function queues(now: Date): Promise<Array<{ id: string; depth: number; oldestSeconds: number }>> {
  const subs = await webhooks().find({ state: { $ne: 'disabled' } }).toArray();
  return Promise.all(
    subs.map(async (sub) => {
      const position = (await progress().findOne({ _id: sub._id }))?.position ?? sub.startAfter;
      const entries = await readLogAfter(position.seq, ENTRIES_READ);
      let depth = 0;
      for (const e of entries) depth += logSeq(e._id) === position.seq + 1 ? e.events.length - position.skip : e.events.length;
      const oldest = entries[0]?.at;
      return { id: sub._id, depth, oldestSeconds: oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0 };
    }),
  );
}

export function registerWebhookGauges(registry: Registry): void {
  let last: Promise<Awaited<ReturnType<typeof queues>> | undefined> | undefined;
  // Both gauges are collected in one scrape: they share one read.
  const read = () => (last ??= queues(new Date()).catch(() => undefined).finally(() => setTimeout(() => (last = undefined), 0)));
  type Queue = NonNullable<Awaited<ReturnType<typeof read>>>[number];
  const perWebhook = (name: string, help: string, value: (q: Queue) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['webhook'],
      registers: [registry],
      async collect() {
        const q = await read();
        if (!q) return;
        this.reset();
        for (const s of q) this.set({ webhook: s.id }, value(s));
      },
    });
  perWebhook(
    'autogroups_webhook_queue_depth',
    'Membership events not yet delivered to each webhook subscription (not disabled): filtered by its groups only when sent, so an upper bound',
    (s) => s.depth,
  );
  perWebhook(
    'autogroups_webhook_oldest_undelivered_seconds',
    'Age of the oldest membership event not yet delivered to each webhook subscription (0 when none waits)',
    (s) => s.oldestSeconds,
  );
}
