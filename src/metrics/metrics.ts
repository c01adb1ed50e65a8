/**
 * @module metrics/metrics
 * Prometheus metrics of a gateway process: what happened to requests, upstream failures,
 * every sign-in log event by kind and outcome, and the process's own figures (CPU, memory,
 * event-loop delay). They live in prom-client's global registry so that, with
 * `server.workers`, the supervisor can ask every worker for its figures and serve the sum.
 *
 * The request counter is incremented on every request, so its label values are bound once
 * here and the hot path only calls `inc()` on a prepared child.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, collectDefaultMetrics, Counter, register } from 'prom-client';

/** What the request chain did with a request. */
type RequestResult = 'forwarded' | 'sign_in' | 'forbidden' | 'rejected' | 'portal' | 'forward_auth';

export interface GatewayMetrics {
  request(result: RequestResult): void;
  upstreamError(status: number): void;
  /** One sign-in log event (password, second factor, enrollment, block, ...). */
  auditEvent(kind: string, outcome: string): void;
  /** What a report-only rule (its key) would have done to a request. */
  reportOnly(rule: string, outcome: string): void;
  /** A password attempt refused by the source throttle (the sign-in log sums these up per source and minute). */
  throttled(): void;
}

let created: GatewayMetrics | undefined;

/** The process's metrics; created once, whatever the number of gateways or reloads in the process. */
export function gatewayMetrics(): GatewayMetrics {
  if (created) return created;
  // prom-client answers the supervisor's requests for a worker's figures only once an
  // AggregatorRegistry exists in that worker; constructing one registers the listener.
  if (cluster.isWorker) new AggregatorRegistry();
  collectDefaultMetrics({ prefix: 'mfa_gateway_' });
  const requests = new Counter({
    name: 'mfa_gateway_requests_total',
    help:
      'Requests by what the gateway did: forwarded, sign_in (sent to sign in), forbidden, rejected (4xx before the policy), portal, ' +
      'forward_auth.',
    labelNames: ['result'],
  });
  const results: Record<RequestResult, { inc(): void }> = {
    forwarded: requests.labels('forwarded'),
    sign_in: requests.labels('sign_in'),
    forbidden: requests.labels('forbidden'),
    rejected: requests.labels('rejected'),
    portal: requests.labels('portal'),
    forward_auth: requests.labels('forward_auth'),
  };
  const upstream = new Counter({
    name: 'mfa_gateway_upstream_errors_total',
    help: 'Requests the upstream app did not answer: 502 (unreachable) or 504 (too slow).',
    labelNames: ['status'],
  });
  const audit = new Counter({
    name: 'mfa_gateway_sign_in_events_total',
    help: 'Sign-in log events by kind (password, second_factor, enrollment, block, ...) and outcome (success, denied).',
    labelNames: ['kind', 'outcome'],
  });
  const reportOnly = new Counter({
    name: 'mfa_gateway_report_only_total',
    help:
      'What report-only rules would have done, by rule (its name, else rule N) and outcome: would_deny, would_require_second_factor, ' +
      'would_require_sign_in.',
    labelNames: ['rule', 'outcome'],
  });
  const throttled = new Counter({
    name: 'mfa_gateway_sign_in_throttled_total',
    help: 'Password attempts refused by mfa.source_throttle, each one (the sign-in log has one line per source and minute).',
  });
  created = {
    request: (result) => results[result].inc(),
    throttled: () => throttled.inc(),
    upstreamError: (status) => upstream.labels(String(status)).inc(),
    auditEvent: (kind, outcome) => audit.labels(kind, outcome).inc(),
    reportOnly: (rule, outcome) => reportOnly.labels(rule, outcome).inc(),
  };
  return created;
}

/** This process's metrics in the Prometheus text format. */
export function processMetrics(): Promise<string> {
  return register.metrics();
}

export const METRICS_CONTENT_TYPE = register.contentType;
