// Issue 13: a rule's explanation and remediation follow the user through the password step.
// The sign-in page carries the rule's key (looked up in the policy, never the client's text)
// to the enrollment page or the code page, shown again on a retry; a key the policy does not
// have is dropped, not echoed.
import t from 'tap';
import { Browser, enrollmentSecret, field, pathOf, startTestGateway, startUpstream, totpCode } from '../helpers/gateway.ts';

const EXPLANATION = 'The finance reports are for the finance team <only>.';
const SHOWN = 'The finance reports are for the finance team &lt;only&gt;.';
const RULES = [
  { paths: ['/public/**'], policy: 'bypass' },
  {
    name: 'finance',
    paths: ['/finance/**'],
    policy: 'two_factor',
    explanation: { en: EXPLANATION, de: 'Die Finanzberichte sind nur für das Finanzteam.' },
    remediation: { en: 'Ask finance-help@example.com.', de: 'Fragen Sie finance-help@example.com.' },
  },
  { name: 'plain', paths: ['/plain/**'], policy: 'two_factor' },
  { paths: ['/**'], policy: 'two_factor' },
];

t.test('after the password, the enrollment page and the code page still explain the rule that sent the user', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { rules: RULES });
  const rd = 'http://gateway.test/finance/q3';

  // bob has no second-factor method yet: password, then first enrollment.
  const bob = new Browser(gw.port);
  const sent = await bob.get('/finance/q3');
  t.equal(sent.status, 302);
  const signInUrl = pathOf(sent.headers.location);
  t.equal(signInUrl, `/.gateway/sign-in?rd=${encodeURIComponent(rd)}&rule=finance`);
  const form = await bob.get(signInUrl);
  t.match(form.body, SHOWN);
  t.equal(field(form.body, 'rule'), 'finance', 'the form carries the key to the next step');

  const wrong = await bob.post('/.gateway/sign-in', {
    username: 'bob',
    password: 'nope',
    rd,
    rule: 'finance',
    csrf: field(form.body, 'csrf'),
  });
  t.equal(wrong.status, 401);
  t.match(wrong.body, SHOWN, 'a retry keeps the texts');
  const signedIn = await bob.post('/.gateway/sign-in', {
    username: 'bob',
    password: 'bob-test-password',
    rd,
    rule: 'finance',
    csrf: field(wrong.body, 'csrf'),
  });
  t.equal(signedIn.status, 303);
  const enrollUrl = pathOf(signedIn.headers.location);
  t.equal(enrollUrl, `/.gateway/enroll?rd=${encodeURIComponent(rd)}&rule=finance`, 'enrollment is told the rule');
  const enroll = await bob.get(enrollUrl);
  t.equal(enroll.status, 200);
  t.match(enroll.body, SHOWN);
  t.match(enroll.body, 'Ask finance-help@example.com.');
  t.equal(field(enroll.body, 'rule'), 'finance');
  const german = await bob.get(enrollUrl, { 'accept-language': 'de' });
  t.match(german.body, 'Die Finanzberichte sind nur für das Finanzteam.');
  const badCode = await bob.post('/.gateway/enroll', { code: '000000', rd, rule: 'finance', csrf: field(enroll.body, 'csrf') });
  t.equal(badCode.status, 400);
  t.match(badCode.body, SHOWN, 'a wrong code keeps the texts');
  const secret = enrollmentSecret(badCode.body);
  const enrolled = await bob.post('/.gateway/enroll', {
    code: totpCode(secret, gw.clock.now),
    rd,
    rule: 'finance',
    csrf: field(badCode.body, 'csrf'),
  });
  t.equal(enrolled.status, 303);
  t.equal(enrolled.headers.location, rd);
  t.equal((await bob.get('/finance/q3')).status, 200);

  // Next time bob has a method: after the password, the code page explains.
  gw.clock.now += 60_000;
  const again = new Browser(gw.port);
  const page = await again.get(signInUrl);
  const password = await again.post('/.gateway/sign-in', {
    username: 'bob',
    password: 'bob-test-password',
    rd,
    rule: 'finance',
    csrf: field(page.body, 'csrf'),
  });
  t.equal(password.headers.location, rd, 'with a method, back to the page, which asks for the code');
  const back = await again.get('/finance/q3');
  const codeUrl = pathOf(back.headers.location);
  t.equal(codeUrl, `/.gateway/second-factor?rd=${encodeURIComponent(rd)}&rule=finance`);
  t.equal(
    pathOf((await again.get(signInUrl)).headers.location),
    codeUrl,
    'the sign-in page, opened again with the password done, sends on to the code page with the key',
  );
  const code = await again.get(codeUrl);
  t.match(code.body, SHOWN);
  t.equal(field(code.body, 'rule'), 'finance');
  const wrongCode = await again.post('/.gateway/second-factor', { code: '000000', rd, rule: 'finance', csrf: field(code.body, 'csrf') });
  t.equal(wrongCode.status, 401);
  t.match(wrongCode.body, SHOWN, 'a wrong code keeps the texts');
});

t.test('a rule key the policy does not have, or a rule without texts, is neither shown nor carried on', async (t) => {
  const gw = await startTestGateway(t, await startUpstream(t), { rules: RULES });
  const plain = await new Browser(gw.port).get('/plain/x');
  t.notMatch(plain.headers.location, /rule=/, 'a rule without texts is not named');

  const forged = '<script>alert(1)</script>';
  const alice = new Browser(gw.port);
  const page = await alice.get(`/.gateway/sign-in?rule=${encodeURIComponent(forged)}`);
  t.notMatch(page.body, /alert\(1\)|name="rule"/, 'nothing of the forged value on the page');
  t.notMatch((await alice.get('/.gateway/sign-in?rule=plain')).body, /name="rule"/, 'a rule without texts is not carried');
  const signedIn = await alice.post('/.gateway/sign-in', {
    username: 'alice',
    password: 'alice-test-password',
    rule: forged,
    csrf: field(page.body, 'csrf'),
  });
  t.equal(signedIn.status, 303);
  t.equal(pathOf(signedIn.headers.location), '/.gateway/enroll', 'on to enrollment without the forged key');
  const enroll = await alice.get(`/.gateway/enroll?rule=${encodeURIComponent(forged)}`);
  t.notMatch(enroll.body, /alert\(1\)|name="rule"/);
});
