/**
 * @module test/policy/legacy-paths.corpus
 * The legacy path corpus of issue 10, item 5, shared by the unit test and the end-to-end
 * test: each request target, what a Java servlet container (Tomcat, Jetty, Spring) or IIS
 * reads in it, and the gateway's answer by default and for an upstream with
 * `legacy_paths: rewrite`. An answer is 400 or the name of the rule that matches.
 */
import type { RuleConfig } from '../../src/config/types.ts';

export type Answer = 400 | 'admin' | 'public' | 'rest';

export interface Entry {
  target: string;
  /** The path a legacy server serves for it (one reading per entry; "?" where it depends on the disk). */
  legacy: string;
  /** The gateway's answer with the default `legacy_paths: refuse`. */
  refuse: Answer;
  /** The gateway's answer when the upstream says `legacy_paths: rewrite`. */
  rewrite: Answer;
}

/** Named after the rules of `corpusRules`; `upstream` is filled in by the end-to-end test. */
export function corpusRules(adminUpstream?: string): RuleConfig[] {
  return [
    { name: 'admin', paths: ['/admin/**', '/administration/**'], policy: 'bypass', ...(adminUpstream ? { upstream: adminUpstream } : {}) },
    { name: 'public', paths: ['/public/**'], policy: 'bypass' },
    { name: 'rest', paths: ['/**'], policy: 'bypass' },
  ];
}

export const CORPUS: readonly Entry[] = [
  // `;` path parameters: Tomcat, Jetty and Spring drop them from every segment.
  { target: '/admin;x/', legacy: '/admin/', refuse: 400, rewrite: 'admin' },
  { target: '/admin;jsessionid=1/', legacy: '/admin/', refuse: 400, rewrite: 'admin' },
  { target: '/admin;jsessionid=ABC123/users', legacy: '/admin/users', refuse: 400, rewrite: 'admin' },
  { target: '/Admin;x/', legacy: '/Admin/', refuse: 400, rewrite: 'admin' },
  { target: '/admin/x.jsp;.css', legacy: '/admin/x.jsp', refuse: 400, rewrite: 'admin' },
  { target: '/public;x/../admin', legacy: '/admin', refuse: 400, rewrite: 'admin' },
  { target: '/public/x;/../../admin', legacy: '/admin', refuse: 400, rewrite: 'admin' },
  { target: '/public;x/admin', legacy: '/public/admin', refuse: 400, rewrite: 'public' },
  { target: '/public/admin;x', legacy: '/public/admin', refuse: 400, rewrite: 'public' },
  { target: '/;x/admin', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/admin/;', legacy: '/admin/', refuse: 400, rewrite: 400 },
  { target: 'http://gateway.test/admin;x/', legacy: '/admin/', refuse: 400, rewrite: 'admin' },
  // Tomcat's classic `..;/`: a dot segment with a parameter is a dot segment to Tomcat.
  { target: '/public/..;/admin', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/public/.;/admin', legacy: '/public/admin', refuse: 400, rewrite: 400 },
  { target: '/public/%2e%2e;/admin', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/public/x/..;x/..;/admin', legacy: '/admin', refuse: 400, rewrite: 400 },
  // Encoded `;`: Tomcat keeps it literal, Spring's UrlPathHelper strips after decoding.
  { target: '/admin%3b/', legacy: '/admin;/ or /admin/', refuse: 400, rewrite: 400 },
  { target: '/admin%3Bx/', legacy: '/admin;x/ or /admin/', refuse: 400, rewrite: 400 },
  // IIS trims trailing dots and spaces of each segment.
  { target: '/admin./', legacy: '/admin/', refuse: 400, rewrite: 'admin' },
  { target: '/admin.', legacy: '/admin', refuse: 400, rewrite: 'admin' },
  { target: '/admin.../', legacy: '/admin/', refuse: 400, rewrite: 'admin' },
  { target: '/admin%2e/', legacy: '/admin/', refuse: 400, rewrite: 'admin' },
  { target: '/admin%20/', legacy: '/admin/', refuse: 400, rewrite: 'admin' },
  { target: '/admin%20%20/', legacy: '/admin/', refuse: 400, rewrite: 'admin' },
  { target: '/admin.%20./x', legacy: '/admin/x', refuse: 400, rewrite: 'admin' },
  { target: '/public./x', legacy: '/public/x', refuse: 400, rewrite: 'public' },
  { target: '/public/...', legacy: '/public/', refuse: 400, rewrite: 400 },
  { target: '/x/..%20/admin', legacy: '/admin', refuse: 400, rewrite: 400 },
  // Controls, whitespace that IIS does not trim but C code may stop at.
  { target: '/admin%09/', legacy: '/admin\t/', refuse: 400, rewrite: 400 },
  { target: '/admin%00/', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/admin%C2%A0/', legacy: '/admin\u00a0/ or /admin /', refuse: 400, rewrite: 400 },
  // NTFS alternate data streams and 8.3 short names (IIS on NTFS).
  { target: '/admin::$DATA', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/admin::$INDEX_ALLOCATION/', legacy: '/admin/', refuse: 400, rewrite: 400 },
  { target: '/admin:stream:$DATA', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/admin%3A%3A%24DATA', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/ADMINI~1/', legacy: '/administration/', refuse: 400, rewrite: 400 },
  { target: '/admin~1/', legacy: '? (depends on the disk)', refuse: 400, rewrite: 400 },
  // Encoded dots, slashes and backslashes.
  { target: '/public/%2e%2e/admin', legacy: '/admin', refuse: 'admin', rewrite: 'admin' },
  { target: '/public/.%2E/admin', legacy: '/admin', refuse: 'admin', rewrite: 'admin' },
  { target: '/admin/%2e%2e/public', legacy: '/public', refuse: 'public', rewrite: 'public' },
  { target: '/public/%252e%252e/admin', legacy: '/public/%2e%2e/admin, or /admin decoded twice', refuse: 400, rewrite: 400 },
  { target: '/public/%252e%252e%252fadmin', legacy: '/public/..%2fadmin, or /admin decoded twice', refuse: 400, rewrite: 400 },
  { target: '/public/%2541dmin', legacy: '/public/%41dmin, or /public/Admin decoded twice', refuse: 'public', rewrite: 'public' },
  { target: '/public/..%2fadmin', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/public%2f..%2fadmin', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/public/..%5cadmin', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/public\\..\\admin', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/public/%c0%ae%c0%ae/admin', legacy: '/admin (overlong UTF-8)', refuse: 400, rewrite: 400 },
  { target: '/admin%u002e/', legacy: '/admin./ (IIS %u)', refuse: 400, rewrite: 400 },
  // Unicode look-alikes: full-width and best-fit forms of `.`, `/` and `\`.
  { target: '/%EF%BC%8Fadmin', legacy: '//admin', refuse: 400, rewrite: 400 },
  { target: '/public/%EF%BC%8E%EF%BC%8E/admin', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/public/..%E2%88%95admin', legacy: '/admin', refuse: 400, rewrite: 400 },
  { target: '/admin%E3%80%82/', legacy: '/admin./ then /admin/', refuse: 400, rewrite: 400 },
  { target: '/%EF%BD%81dmin/', legacy: '/admin/', refuse: 400, rewrite: 400 },
  // Case, repeated slashes and dot segments, which the gateway resolves the way every server does.
  { target: '/ADMIN/', legacy: '/ADMIN/ (IIS: /admin/)', refuse: 'admin', rewrite: 'admin' },
  { target: '/%61dmin/', legacy: '/admin/', refuse: 'admin', rewrite: 'admin' },
  { target: '/admin/.', legacy: '/admin/', refuse: 'admin', rewrite: 'admin' },
  { target: '//admin', legacy: '/admin', refuse: 'admin', rewrite: 'admin' },
  { target: '/public//..//admin', legacy: '/admin', refuse: 'admin', rewrite: 'admin' },
  { target: '/admin?x=/public/;a', legacy: '/admin', refuse: 'admin', rewrite: 'admin' },
  // Ordinary paths stay ordinary.
  { target: '/public/report.pdf', legacy: '/public/report.pdf', refuse: 'public', rewrite: 'public' },
  { target: '/~user/page', legacy: '/~user/page', refuse: 'rest', rewrite: 'rest' },
  { target: '/v1/jobs/7:run', legacy: '/v1/jobs/7:run', refuse: 'rest', rewrite: 'rest' },
  { target: '/caf%C3%A9', legacy: '/caf%C3%A9 (café)', refuse: 'rest', rewrite: 'rest' },
];
