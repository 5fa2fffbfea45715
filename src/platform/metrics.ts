// Prometheus metrics. One registry per app instance, so tests that build several apps do not collide.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  membershipChanges: Counter<'action' | 'source'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'autogroups_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    membershipChanges: new Counter({
      name: 'autogroups_membership_changes_total',
      help: 'Memberships added and removed, by source',
      labelNames: ['action', 'source'],
      registers: [registry],
    }),
  };
}
