// The pure TOTP check: RFC 6238 test vectors, window policy, replay floor, malformed input, URI and QR helpers.
import t from 'tap';
import {
  base32Decode,
  base32Encode,
  checkTotp,
  formatSecretForManualEntry,
  generateTotp,
  newTotpSecret,
  otpauthUri,
  qrCodeSvg,
  timeStep,
} from '../../../src/factors/totp/index.ts';

const rfcSecret = Buffer.from('12345678901234567890');

t.test('RFC 6238 Appendix B, SHA-1, 8 digits', async (t) => {
  const vectors: [number, string][] = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  for (const [seconds, code] of vectors) {
    const now = seconds * 1000;
    t.equal(generateTotp({ secret: rfcSecret, now, period: 30, digits: 8 }), code, `generate T=${seconds}`);
    t.same(
      checkTotp({ secret: rfcSecret, code, now, period: 30, digits: 8, skewSteps: 0, lastStep: null }),
      { ok: true, step: Math.floor(seconds / 30) },
      `check T=${seconds}`,
    );
  }
});

t.test('window: current step and skewSteps back, never ahead', async (t) => {
  const now = 1_700_000_000_000;
  const base = { secret: rfcSecret, now, period: 30, digits: 6, lastStep: null } as const;
  const at = (offsetSteps: number) => generateTotp({ secret: rfcSecret, now: now + offsetSteps * 30_000, period: 30, digits: 6 });
  const step = timeStep(now, 30);
  t.same(checkTotp({ ...base, code: at(0), skewSteps: 1 }), { ok: true, step });
  t.same(checkTotp({ ...base, code: at(-1), skewSteps: 1 }), { ok: true, step: step - 1 }, 'one step back accepted');
  t.same(checkTotp({ ...base, code: at(-2), skewSteps: 1 }), { ok: false, reason: 'wrong' }, 'two back refused');
  t.same(checkTotp({ ...base, code: at(1), skewSteps: 1 }), { ok: false, reason: 'wrong' }, 'one ahead refused');
  t.same(checkTotp({ ...base, code: at(-1), skewSteps: 0 }), { ok: false, reason: 'wrong' }, 'skew 0: only the current step');
  t.same(checkTotp({ ...base, code: at(-2), skewSteps: 2 }), { ok: true, step: step - 2 });
});

t.test('replay floor: steps at or below lastStep are replayed', async (t) => {
  const now = 1_700_000_000_000;
  const step = timeStep(now, 30);
  const code = generateTotp({ secret: rfcSecret, now, period: 30, digits: 6 });
  const prev = generateTotp({ secret: rfcSecret, now: now - 30_000, period: 30, digits: 6 });
  const base = { secret: rfcSecret, now, period: 30, digits: 6, skewSteps: 1 } as const;
  t.same(checkTotp({ ...base, code, lastStep: step }), { ok: false, reason: 'replayed' });
  t.same(checkTotp({ ...base, code: prev, lastStep: step }), { ok: false, reason: 'replayed' }, 'an earlier step after a later one');
  t.same(checkTotp({ ...base, code, lastStep: step - 1 }), { ok: true, step });
  t.same(
    checkTotp({ ...base, code, lastStep: step + 5 }),
    { ok: false, reason: 'replayed' },
    'a stored step ahead of the clock does not throw',
  );
});

t.test('a 10-byte hardware token secret with a 60-second period', async (t) => {
  const secret = Buffer.from('0123456789abcdef0123', 'hex');
  const now = 1_700_000_045_000;
  const code = generateTotp({ secret, now, period: 60, digits: 6 });
  t.same(checkTotp({ secret, code, now, period: 60, digits: 6, skewSteps: 1, lastStep: null }), { ok: true, step: timeStep(now, 60) });
  const prev = generateTotp({ secret, now: now - 60_000, period: 60, digits: 6 });
  t.same(checkTotp({ secret, code: prev, now, period: 60, digits: 6, skewSteps: 1, lastStep: null }), {
    ok: true,
    step: timeStep(now, 60) - 1,
  });
  t.equal(timeStep(now, 60), Math.floor(1_700_000_045 / 60));
});

t.test('malformed codes give malformed, not a throw; spaces are ignored', async (t) => {
  const now = 1_700_000_000_000;
  const base = { secret: rfcSecret, now, period: 30, digits: 6, skewSteps: 1, lastStep: null } as const;
  for (const code of ['', '12345', '1234567', 'abcdef', '12345a', '-12345', '١٢٣٤٥٦', '12.456', '0x1234']) {
    t.same(checkTotp({ ...base, code }), { ok: false, reason: 'malformed' }, JSON.stringify(code));
  }
  const code = generateTotp({ secret: rfcSecret, now, period: 30, digits: 6 });
  t.same(checkTotp({ ...base, code: ` ${code.slice(0, 3)} ${code.slice(3)} ` }), { ok: true, step: timeStep(now, 30) });
});

t.test('secrets, URI, QR code and manual entry', async (t) => {
  const s = newTotpSecret();
  t.equal(s.length, 20);
  t.not(s.toString('hex'), newTotpSecret().toString('hex'));
  t.equal(base32Encode(Buffer.from('Hello!\xde\xad\xbe\xef', 'latin1')), 'JBSWY3DPEHPK3PXP');
  t.same(base32Decode('jbsw y3dp ehpk 3pxp=='), Buffer.from('Hello!\xde\xad\xbe\xef', 'latin1'));
  t.equal(newTotpSecret((n) => Buffer.alloc(n, 0)).length, 20, 'randomness is injectable');

  t.equal(
    otpauthUri({
      issuer: 'ACME Co',
      account: 'alice@example.com',
      secret: Buffer.from('Hello!\xde\xad\xbe\xef', 'latin1'),
      period: 30,
      digits: 6,
    }),
    'otpauth://totp/ACME%20Co:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co',
  );
  t.equal(
    otpauthUri({
      issuer: 'A:B',
      account: 'x:y',
      secret: Buffer.from('Hello!\xde\xad\xbe\xef', 'latin1'),
      period: 60,
      digits: 8,
      algorithm: 'sha256',
    }),
    'otpauth://totp/A%3AB:x%3Ay?secret=JBSWY3DPEHPK3PXP&issuer=A%3AB&algorithm=SHA256&digits=8&period=60',
    'colons inside issuer and account are escaped',
  );
  const svg = await qrCodeSvg('otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME');
  t.match(svg, /^<svg aria-hidden="true" focusable="false" xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
  t.notMatch(svg, 'role=', 'no second, unnamed image role: the page names the figure once (issue 17)');
  t.match(svg, /<\/svg>\s*$/);
  t.equal(formatSecretForManualEntry('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'), 'JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP');
  t.equal(formatSecretForManualEntry('jbswy3dpeh=='), 'JBSW Y3DP EH');
});
