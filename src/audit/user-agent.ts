/**
 * @module audit/user-agent
 * A short, human description of a User-Agent header ("Firefox on Windows", "Firefox unter
 * Windows") for the account page's sign-ins and sessions, the admin pages and mails. Only a
 * hint for people, never used for decisions.
 */

const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/Edg\//, 'Edge'],
  [/OPR\//, 'Opera'],
  [/Firefox\//, 'Firefox'],
  [/Chrom(e|ium)\//, 'Chrome'],
  [/Safari\//, 'Safari'],
  [/curl\//, 'curl'],
];
const SYSTEMS: ReadonlyArray<[RegExp, string]> = [
  [/Windows/, 'Windows'],
  [/iPhone|iPad/, 'iOS'],
  [/Android/, 'Android'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
];

/**
 * The browser and system a User-Agent names, joined by `onSystem` (the reader's words for
 * "{browser} on {system}"); either alone, or the header's start when neither is known.
 *
 * @example describeUserAgent(ua, '{browser} unter {system}') // 'Chrome unter Linux'
 */
export function describeUserAgent(ua: string, onSystem = '{browser} on {system}'): string {
  if (!ua) return '';
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  if (browser && system) return onSystem.replace('{browser}', browser).replace('{system}', system);
  return browser ?? system ?? ua.slice(0, 40);
}
