// Checks the runtime the gateway needs: Node 22.19+ with type stripping.
import t from 'tap';

t.test('runs on Node 22.19 or newer', async (t) => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  t.ok(major > 22 || (major === 22 && minor >= 19), `node ${process.versions.node}`);
});
