// User names are one user whatever their letter case or Unicode composition.
import t from 'tap';
import { userKey } from '../../src/store/types.ts';

t.test('userKey folds case and Unicode composition, with the ASCII fast path meaning the same', async (t) => {
  t.equal(userKey('Alice'), 'alice');
  t.equal(userKey('ALICE@EXAMPLE.COM'), 'alice@example.com');
  t.equal(userKey('J\u00fcrgen'), 'j\u00fcrgen', 'precomposed');
  t.equal(userKey('Ju\u0308rgen'), 'j\u00fcrgen', 'decomposed (u + combining diaeresis) is the same user');
  t.equal(userKey('\u00c5SA'), userKey('A\u030aSA'));
  for (const name of ['bob', 'Bob.Builder', 'x_y-z+1@host']) t.equal(userKey(name), name.normalize('NFC').toLowerCase());
});
