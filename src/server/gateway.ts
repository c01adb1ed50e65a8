/**
 * @module server/gateway
 * Builds a running gateway from a validated config: opens the store and the users file,
 * compiles the policy, creates the session layer, the portal and the forwarders, wires
 * them into the request chain and listens. `reload` swaps in a new config's policy,
 * networks, upstreams, texts and session settings without dropping connections; the
 * listener and the store stay.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { CompiledRule } from '../policy/compile.ts';
import type { Store } from '../store/types.ts';
import { parseDuration } from '../config/duration.ts';
import { parseListen } from '../config/listen.ts';
import { createNetworkSet } from '../client-ip/cidr.ts';
import { createClientAddressResolver } from '../client-ip/resolve.ts';
import { compilePolicy } from '../policy/compile.ts';
import { createForwarder } from '../proxy/forward.ts';
import { createWebSocketForwarder } from '../proxy/websocket.ts';
import { createOriginCheck } from '../policy/origin.ts';
import { createSessionManager } from '../session/session.ts';
import { createAuthenticator, createBasicAuthenticator } from '../session/authenticate.ts';
import { createBasicVerifier } from '../factors/app-passwords/index.ts';
import { appPasswordsModule } from '../portal/app-passwords.ts';
import { adminModule } from '../portal/admin.ts';
import { createRevocationView, type LiveRevocationView } from '../session/revocations.ts';
import { createSessionRegistry } from '../session/registry.ts';
import { openStore } from '../store/index.ts';
import { loadUserDirectory, type UserDirectory } from '../factors/password/index.ts';
import { createPortal, type PortalDeps } from '../portal/router.ts';
import { createFederation } from '../federation/index.ts';
import { startRevalidation, type Revalidation, type RevalidationSettings } from '../federation/revalidation.ts';
import { federationPortalModules } from '../portal/federation.ts';
import { createRenderer } from '../portal/render.ts';
import { buildCatalog } from '../portal/i18n.ts';
import { loadStaticAssets } from '../portal/static.ts';
import { fraudModule } from '../portal/fraud.ts';
import { methodsModule } from '../portal/methods.ts';
import { blockUser } from '../regulation/block.ts';
import { lockoutPolicy, lockoutRules } from '../regulation/lockout.ts';
import { sourceThrottleRules, sourceThrottleSettings } from '../regulation/source-throttle.ts';
import { createRegulatedPasswordCheck, type PasswordVerifier } from '../factors/password/index.ts';
import { createStoreOutage, pollErrorHandler, watchStore } from '../store/outage.ts';
import { createNotifications, type Mailer } from '../notify/index.ts';
import { startHousekeeping } from '../audit/retention.ts';
import { createReportOnlyLog, type ReportOnlyLog } from '../audit/report-only.ts';
import { createDecisionTraceLog, type DecisionTraceLog } from '../audit/trace.ts';
import { createChain, type Chain } from './chain.ts';
import { createAssertionSigners } from '../proxy/assertion.ts';
import type { Portal } from '../contracts/request.ts';
import { errors } from '../errors/errors.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';

const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));

export interface GatewayOptions {
  config: GatewayConfig;
  /** Epoch milliseconds; tests freeze it. */
  clock?: () => number;
  log?: Logger;
  /** Overrides `server.listen` (tests listen on port 0). */
  listen?: { host: string; port: number };
  /** Waits between e-mail delivery attempts (tests shorten them); see `notify/mailer`. */
  mailRetryDelaysMs?: readonly number[];
  /** Told when a denied attempt locks an account (where notifications send their e-mail). */
  onLockout?: PortalDeps['onLockout'];
  /** Where the regulated password check runs argon2 (default the real one); tests count its calls. */
  passwordVerifier?: PasswordVerifier;
  /**
   * Serve `server.metrics` from this process (default). False in a worker of
   * `server.workers`, where the supervisor serves the sum over all workers.
   */
  metricsListener?: boolean;
}

export interface RunningGateway {
  readonly server: Server;
  /** `http://host:port` the gateway listens on. */
  readonly url: string;
  readonly store: Store;
  readonly revocations: LiveRevocationView;
  /** The e-mail queue (`idle()` resolves when every queued mail was sent or given up). */
  readonly mailer: Mailer;
  /** Report-only rule hits, buffered and added to the store every few seconds (`flush()` now). */
  readonly reportOnly: Pick<ReportOnlyLog, 'flush'>;
  /** Attempts refused by the source throttle, counted and summed up in the sign-in log once a minute (`flush()` now). */
  readonly refusals: { flush(all?: boolean): Promise<void> };
  /** Decision traces of refused and redirected requests; tests flush them instead of waiting. */
  readonly traces: Pick<DecisionTraceLog, 'flush'>;
  /** Revalidation of federated sessions at the provider (`federation.oidc.revalidate_every`); tests run a pass instead of waiting. */
  readonly revalidation: Pick<Revalidation, 'sweep'>;
  /** Applies a new, already validated config (policy, networks, upstreams, texts, sessions). */
  reload(config: GatewayConfig): void;
  close(): Promise<void>;
}

/** Without `server.metrics` nobody can read the metrics, so nothing is counted. */
const NO_METRICS: GatewayMetrics = { request() {}, upstreamError() {}, auditEvent() {}, reportOnly() {}, throttled() {} };

/** Every sign-in log event also counts in the metrics, whoever records it (portal, modules, regulation). */
function countAuditEvents(store: Store, metrics: GatewayMetrics): Store {
  const record: Store['record'] = (event) => {
    metrics.auditEvent(event.kind, event.outcome);
    return store.record(event);
  };
  const recordAll: Store['recordAll'] = (events) => {
    for (const event of events) metrics.auditEvent(event.kind, event.outcome);
    return store.recordAll(events);
  };
  // A proxy rather than a copy, so a backend written as a class keeps its methods and fields.
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'record') return record;
      if (prop === 'recordAll') return recordAll;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const clock = options.clock ?? Date.now;
  const log = options.log ?? pino({ level: options.config.log.level, base: { service: 'mfa-gateway' } });
  const initial = options.config;

  // Compressed in libuv's thread pool while the store and the users file are opened.
  const assetsLoading = loadStaticAssets(new URL('static/', `file://${VIEWS_DIR}`).pathname);
  assetsLoading.catch(() => {}); // awaited below; a failure before then must not count as unhandled
  // prom-client (about 40 ms to load) only where the metrics are served.
  const metrics = initial.server.metrics ? (await import('../metrics/metrics.ts')).gatewayMetrics() : NO_METRICS;
  const storeOutage = createStoreOutage(log);
  const store = watchStore(
    countAuditEvents(await openStore(initial.store, { clock, lockout: lockoutRules, sourceThrottle: sourceThrottleRules }), metrics),
    storeOutage,
  );
  const usersFile: UserDirectory = await loadUserDirectory(initial.users.file, {
    onError: (err: unknown) => log.error({ err }, 'users file not reloaded; keeping the previous users'),
  });
  // The users file first (it wins on equal names), then the directory where one is configured.
  // The LDAP client (ldapts) is loaded only where a directory is configured.
  const ldap = initial.users.ldap;
  const fileUsers: UserDirectory =
    ldap === undefined
      ? usersFile
      : (await import('../factors/ldap/users.ts')).createDirectoryUsers(
          usersFile,
          (await import('../factors/ldap/directory.ts')).createLdapDirectory(ldap, clock),
          {
            ttlMs: parseDuration(ldap.cache_ttl),
            graceMs: parseDuration(ldap.outage_grace),
            clock,
            onError: (err: unknown, user) =>
              log.warn(
                { err: (err as Error).message, user },
                'directory user not refreshed; keeping the last entry within users.ldap.outage_grace',
              ),
          },
        );
  // The users file first, then users recorded at their first federated sign-in.
  const federation = await createFederation({
    fileUsers,
    store,
    clock,
    log,
    blocked: (user) => revocations.blocked(user),
    onPollError: pollErrorHandler(storeOutage, log, 'federated users not refreshed'),
  });
  const users: UserDirectory = federation.users;
  const revocations = createRevocationView(store, {
    clock,
    // An unreachable store is logged once by the outage watch, not at every poll.
    onError: pollErrorHandler(storeOutage, log, 'change feed poll failed'),
  });
  const assets = await assetsLoading;

  // E-mail and sign-in log retention; build() moves the reloadable settings along.
  let adminAddresses: readonly string[] = initial.mfa.fraud_alert.notify;
  let adminLanguage = initial.notifications.language;
  let retentionMs = parseDuration(initial.log.sign_in_retention);
  const { mailer, notifier } = createNotifications(initial, log, {
    admins: () => adminAddresses,
    adminLanguage: () => adminLanguage,
    ...(options.mailRetryDelaysMs ? { retryDelaysMs: options.mailRetryDelaysMs } : {}),
  });
  const housekeeping = startHousekeeping({ store, retentionMs: () => retentionMs, clock, log });
  await housekeeping.run();
  const reportOnly = createReportOnlyLog({ store, clock, log });
  const traces = createDecisionTraceLog({ store, log });
  // One regulated password check for every path that takes a password; build() moves its settings along.
  let passwordPolicy = lockoutPolicy(initial.mfa.password_lockout);
  let throttleSettings = sourceThrottleSettings(initial.mfa.source_throttle);
  const passwordCheck = createRegulatedPasswordCheck({
    store,
    users,
    log,
    lockout: () => passwordPolicy,
    throttle: () => throttleSettings,
    clock,
    onThrottled: () => metrics.throttled(),
    ...(options.passwordVerifier ? { verifier: options.passwordVerifier } : {}),
    onLockout: (user, until, details) => onLockout(user, until, details),
  });
  // App passwords over HTTP Basic: one verifier (and its cache) for the process, across reloads.
  const basicVerifier = createBasicVerifier({
    store,
    users,
    clock,
    passwordCheck,
    blocked: (user) => revocations.blocked(user),
    feed: revocations.feed,
  });
  // Every view on the change feed has subscribed: the first poll loads them all before serving.
  await revocations.start();
  const fraud = (config: GatewayConfig) =>
    fraudModule({
      config,
      store,
      users,
      notifier,
      clock,
      log,
      blockUser: (user, opts) => blockUser(store, user, opts),
      refreshRevocations: () => revocations.refresh(),
    });
  const onLockout: NonNullable<PortalDeps['onLockout']> = (user, until, details) => {
    notifier.lockout({ user, step: details.factor, until, clientIp: details.clientIp });
    options.onLockout?.(user, until, details);
  };

  const timeouts = initial.server.timeouts;
  let portal: Portal;
  const forwarder = createForwarder({
    connectTimeoutMs: parseDuration(timeouts.upstream_connect),
    responseTimeoutMs: parseDuration(timeouts.upstream_response),
    onError: (req, res, err) => {
      log.warn({ code: err.code, url: req.url }, err.detail ?? err.message);
      metrics.upstreamError(err.status);
      portal.sendError(req, res, err);
    },
  });
  // Sockets are closed by the session's idle and absolute timeouts on the injected clock.
  const websockets = createWebSocketForwarder({ connectTimeoutMs: parseDuration(timeouts.upstream_connect), clock });
  revocations.onSessionsRevoked((user) => {
    const closed = websockets.closeUser(user);
    if (closed > 0) log.info({ user, closed }, 'closed WebSocket connections of a revoked user');
  });
  revocations.onSessionRevoked((sid, user) => {
    const closed = websockets.closeSession(sid);
    if (closed > 0) log.info({ user, closed }, 'closed WebSocket connections of a signed-out session');
  });
  revocations.onBlocked((user) => {
    const closed = websockets.closeUser(user);
    log.info({ user, closed }, 'user blocked; closed their WebSocket connections');
  });

  // The session index, across reloads; build() moves the limit along.
  let maxPerUser = initial.session.max_per_user;
  let absoluteMs = parseDuration(initial.session.absolute_timeout);
  const registry = createSessionRegistry({
    store,
    refreshRevocations: () => revocations.refresh(),
    absoluteExpiry: (data) => data.auth + absoluteMs,
    maxPerUser: () => maxPerUser,
    clock,
    log,
  });
  // Federated sessions asked about at the provider in the background; build() moves the settings along.
  let revalidationSettings: RevalidationSettings | null = null;
  const revalidation = startRevalidation({
    store,
    settings: () => revalidationSettings,
    endSession: (user, sid) => registry.end(user, sid),
    record: (event) => store.record(event),
    clock,
    log,
    onError: pollErrorHandler(storeOutage, log, 'session revalidation failed; will retry at the next pass'),
  });
  // The signed identity's keys outlive a reload: a rotated-out key stays published for the ttl.
  const assertionSigners = createAssertionSigners(clock);

  function build(config: GatewayConfig): { chain: Chain; portal: Portal } {
    maxPerUser = config.session.max_per_user;
    absoluteMs = parseDuration(config.session.absolute_timeout);
    adminAddresses = config.mfa.fraud_alert.notify;
    adminLanguage = config.notifications.language;
    retentionMs = parseDuration(config.log.sign_in_retention);
    passwordPolicy = lockoutPolicy(config.mfa.password_lockout);
    throttleSettings = sourceThrottleSettings(config.mfa.source_throttle);
    const oidc = config.federation.oidc;
    revalidationSettings =
      oidc?.revalidate_every === undefined
        ? null
        : { oidc: federation.clientFor(oidc), provider: oidc.display_name, everyMs: parseDuration(oidc.revalidate_every) };
    const publicUrl = new URL(config.server.public_url);
    const sessions = createSessionManager({ config: config.session, publicUrl, revocations, clock });
    const catalog = buildCatalog(config.messages);
    const renderer = createRenderer({
      viewsDir: VIEWS_DIR,
      catalog,
      prefix: config.server.path_prefix,
      assets,
      homeUrl: publicUrl.href,
      ...(config.portal.help ? { help: config.portal.help } : {}),
    });
    const policy = compilePolicy(config.rules);
    const trustedIps = createNetworkSet(config.mfa.trusted_ips.ranges);
    const builtPortal = createPortal({
      config,
      publicUrl,
      sessions,
      users,
      store,
      renderer,
      languages: catalog.languages,
      assets,
      trustedIps,
      revocations,
      registry,
      clock,
      log,
      onLockout,
      passwordCheck,
      storeOutage,
      policy,
      modules: [
        ...federationPortalModules(config, federation, { store, registry, clock, log }),
        fraud(config),
        methodsModule({ config, store, clock }),
        appPasswordsModule({ config, store, refresh: () => basicVerifier.refresh(), log }),
        adminModule({
          config,
          store,
          users,
          usersFile,
          notifier,
          clock,
          log,
          refreshRevocations: () => revocations.refresh(),
          refreshAppPasswords: () => basicVerifier.refresh(),
        }),
      ],
    });
    const defaultUpstream = new URL(config.upstream.url);
    const named = new Map(Object.entries(config.upstreams).map(([name, u]) => [name, new URL(u.url)]));
    const upstreamFor = (rule: CompiledRule | null): URL => {
      if (!rule?.upstream) return defaultUpstream;
      return named.get(rule.upstream) ?? new URL(rule.upstream);
    };
    // Only named upstreams (and the default) can opt in; a rule's literal URL never does.
    const rewriting = new Set(
      Object.entries(config.upstreams)
        .filter(([, u]) => u.legacy_paths === 'rewrite')
        .map(([name]) => name),
    );
    const defaultRewrites = config.upstream.legacy_paths === 'rewrite';
    const rewritesLegacyPaths =
      rewriting.size === 0 && !defaultRewrites
        ? null
        : (rule: CompiledRule | null) => (rule?.upstream ? rewriting.has(rule.upstream) : defaultRewrites);
    const chain = createChain({
      prefix: config.server.path_prefix,
      maxUrlBytes: config.server.limits.max_url_bytes,
      policy,
      trustedIps,
      resolveClient: createClientAddressResolver(createNetworkSet(config.server.trusted_proxies)),
      upstreamFor,
      rewritesLegacyPaths,
      authenticator: createAuthenticator(
        sessions,
        users,
        revocations,
        config.mfa.app_passwords.enabled ? createBasicAuthenticator(basicVerifier, publicUrl.host) : undefined,
        (sid, scope) =>
          registry.renewed(sid, { ip: scope.clientIp, userAgent: String(scope.req.headers['user-agent'] ?? '').slice(0, 512) }),
      ),
      portal: builtPortal,
      forwarder,
      websockets,
      originCheck: createOriginCheck({ publicUrl, policy, allowedOrigins: config.server.allowed_origins }),
      log,
      metrics,
      clock,
      assertions: assertionSigners.configure(config.identity.jwt, publicUrl.href.replace(/\/$/, '')),
      storeOutage,
      reportOnly,
      traces,
    });
    return { chain, portal: builtPortal };
  }

  let current = build(initial);
  portal = current.portal;

  const server = createServer(
    {
      maxHeaderSize: initial.server.limits.max_header_bytes,
      headersTimeout: parseDuration(timeouts.request_headers),
      // Uploads and long polls may take as long as they need; idle sockets are bounded below.
      requestTimeout: 0,
      keepAliveTimeout: parseDuration(timeouts.keep_alive),
    },
    (req: IncomingMessage, res: ServerResponse) => current.chain.handleRequest(req, res),
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => current.chain.handleUpgrade(req, socket, head));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const error = err.code === 'HPE_HEADER_OVERFLOW' ? errors.headersTooLarge(err.message) : errors.badRequest(err.message);
    const body = `${error.status} ${error.code}\n`;
    const reason = error.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    const head = `content-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close`;
    socket.end(`HTTP/1.1 ${error.status} ${reason}\r\n${head}\r\n\r\n${body}`);
  });

  const { host, port } = options.listen ?? parseListen(initial.server.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address : { address: host, port };
  const url = `http://${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
  log.info({ url, public_url: initial.server.public_url }, 'mfa-gateway listening');
  const metricsServer =
    initial.server.metrics && options.metricsListener !== false
      ? await (await import('../metrics/server.ts')).startMetricsServer(parseListen(initial.server.metrics.listen), 'process')
      : undefined;
  if (metricsServer) log.info({ listen: initial.server.metrics?.listen }, 'metrics listening');

  return {
    server,
    url,
    store,
    revocations,
    mailer,
    reportOnly,
    refusals: { flush: (all) => passwordCheck.flush(all) },
    traces,
    revalidation,
    reload(config) {
      current = build(config);
      portal = current.portal;
      log.info('configuration reloaded');
    },
    async close() {
      revocations.stop();
      housekeeping.stop();
      await revalidation.stop();
      metricsServer?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await websockets.close();
      await forwarder.close();
      await mailer.close();
      await reportOnly.stop();
      await traces.stop();
      await passwordCheck.close();
      users.close();
      await store.close();
    },
  };
}
