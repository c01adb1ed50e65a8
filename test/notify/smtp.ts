/**
 * @module test/notify/smtp
 * A real SMTP server (`smtp-server`) on loopback that keeps what it receives: envelope
 * recipients, headers and the decoded text and HTML parts (quoted-printable or base64).
 */
import { SMTPServer } from 'smtp-server';
import type { Test } from 'tap';
export { freePort } from '../helpers/net.ts';

export interface ReceivedMail {
  from: string;
  to: string[];
  headers: Record<string, string>;
  subject: string;
  text: string;
  html: string;
}

export interface TestSmtp {
  port: number;
  mails: ReceivedMail[];
  /** Resolves with the next mail (or one already received and not yet taken). */
  next(timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

function decode(body: string, encoding: string | undefined): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => `%${h}`);
    return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'));
  }
  return body;
}

function headersOf(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Splits one MIME entity into its text/plain and text/html parts, recursively. */
function parts(headers: Record<string, string>, body: string, into: { text: string; html: string }): void {
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (type.startsWith('multipart/') && boundary) {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const [head = '', ...rest] = chunk.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
      parts(headersOf(head), rest.join('\r\n\r\n'), into);
    }
    return;
  }
  const text = decode(body.trim(), headers['content-transfer-encoding']?.toLowerCase());
  if (type.startsWith('text/html')) into.html += text;
  else into.text += text;
}

export async function startSmtp(t: Test, port = 0): Promise<TestSmtp> {
  const mails: ReceivedMail[] = [];
  let waiters: ((m: ReceivedMail) => void)[] = [];
  let taken = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const split = raw.search(/\r?\n\r?\n/);
        const headers = headersOf(raw.slice(0, split));
        const into = { text: '', html: '' };
        parts(headers, raw.slice(split).replace(/^\r?\n\r?\n/, ''), into);
        const mail: ReceivedMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          headers,
          subject: headers.subject ?? '',
          ...into,
        };
        mails.push(mail);
        const waiter = waiters.shift();
        if (waiter) {
          taken++;
          waiter(mail);
        }
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  let closed = false;
  t.teardown(() => (closed ? undefined : close()));
  return {
    port: (server.server.address() as { port: number }).port,
    mails,
    next(timeoutMs = 5000) {
      if (taken < mails.length) return Promise.resolve(mails[taken++]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== got);
          reject(new Error(`no mail within ${timeoutMs} ms`));
        }, timeoutMs);
        const got = (m: ReceivedMail) => {
          clearTimeout(timer);
          resolve(m);
        };
        waiters.push(got);
      });
    },
    async close() {
      closed = true;
      await close();
    },
  };
}
