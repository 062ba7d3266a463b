// <astral-phone> lifecycle: creating, re-creating and dropping its own client from server/token/token-url.
import '../src/ui/astral-phone.js';
import { AstralPhone } from '../src/ui/astral-phone.js';
import type { AstralClientOptions } from '../src/client/types.js';
import type { PhoneClient } from '../src/ui/client-controller.js';
import { FakeClient, assert, deepEqual, equal, mount, part, text, unmountAll, waitFor } from './helpers.js';

/** An <astral-phone> whose factory hands out FakeClients instead of real AstralClients. */
class TestPhone extends AstralPhone {
  static created: FakeClient[] = [];
  static connectError: { code: string; message: string } | null = null;
  protected override createClient(options: AstralClientOptions): PhoneClient {
    const client = new FakeClient(options);
    client.state = 'connecting';
    client.connectError = TestPhone.connectError;
    TestPhone.created.push(client);
    return client;
  }
}
customElements.define('test-astral-phone', TestPhone);

function makePhone(attrs: Record<string, string>): TestPhone {
  const el = document.createElement('test-astral-phone') as TestPhone;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

beforeEach(() => {
  TestPhone.created = [];
  TestPhone.connectError = null;
});
afterEach(unmountAll);

describe('<astral-phone> client lifecycle', () => {
  it('creates and connects a client once server and token are set', async () => {
    const el = mount(makePhone({ server: 'http://astral.test' }));
    await el.updateComplete;
    equal(TestPhone.created.length, 0, 'no client without a token');
    equal(el.client, null, 'client is null');
    el.token = 'tok-1';
    await el.updateComplete;
    equal(TestPhone.created.length, 1, 'one client');
    const client = TestPhone.created[0]!;
    equal(el.client, client, 'client getter');
    deepEqual(client.options, { server: 'http://astral.test', token: 'tok-1' }, 'options');
    deepEqual(client.calls('connect'), [[]], 'connected by itself');
    equal(el.state, 'connecting', 'state snapshot from the client');
  });

  it('passes token-url through', async () => {
    const el = mount(makePhone({ server: 'http://astral.test', 'token-url': '/my/token' }));
    await el.updateComplete;
    equal(el.tokenUrl, '/my/token', 'tokenUrl property');
    deepEqual(TestPhone.created[0]?.options, { server: 'http://astral.test', tokenUrl: '/my/token' }, 'options');
  });

  it('re-creates the client when the token changes, disconnecting the old one', async () => {
    const el = mount(makePhone({ server: 'http://astral.test', token: 'a' }));
    await el.updateComplete;
    el.setAttribute('token', 'b');
    await el.updateComplete;
    equal(TestPhone.created.length, 2, 'a second client');
    const [first, second] = TestPhone.created;
    deepEqual(first!.calls('disconnect'), [[]], 'old client disconnected');
    equal(el.client, second, 'new client in use');
    let heard = 0;
    el.addEventListener('astral-state', () => heard++);
    first!.emit('state', { state: 'ready' });
    equal(heard, 0, 'old client no longer heard');
  });

  it('disconnects when removed and reconnects with a new client when re-added', async () => {
    const el = mount(makePhone({ server: 'http://astral.test', token: 'a' }));
    await el.updateComplete;
    el.remove();
    deepEqual(TestPhone.created[0]!.calls('disconnect'), [[]], 'disconnected on removal');
    equal(el.client, null, 'client dropped');
    mount(el);
    await el.updateComplete;
    equal(TestPhone.created.length, 2, 'new client on re-insertion');
    deepEqual(TestPhone.created[1]!.calls('connect'), [[]], 'connected');
  });

  it('a rejected token shows the client error in a role=alert banner', async () => {
    TestPhone.connectError = { code: 'unauthorized', message: 'invalid token signature' };
    const errors: CustomEvent[] = [];
    const onError = (e: Event) => errors.push(e as CustomEvent);
    document.addEventListener('astral-error', onError);
    try {
      const el = mount(makePhone({ server: 'http://astral.test', token: 'bad' }));
      const banner = await waitFor(() => part(el, 'error'), 'the error banner');
      await el.updateComplete;
      equal(banner.getAttribute('role'), 'alert', 'alert role');
      assert(text(part(el, 'error')).includes('invalid token signature'), `client message kept: ${text(part(el, 'error'))}`);
      equal(el.state, 'disconnected', 'state');
      deepEqual(errors.map((e) => e.detail), [{ code: 'unauthorized', message: 'invalid token signature' }], 'astral-error reached document');
    } finally {
      document.removeEventListener('astral-error', onError);
    }
  });

  it('connect() without server/token rejects with invalid_state', async () => {
    const el = mount(makePhone({}));
    await el.updateComplete;
    const err = await el.connect().then(
      () => null,
      (e: { code?: string }) => e,
    );
    equal(err?.code, 'invalid_state', 'rejection code');
  });
});

describe('<astral-phone> with the real AstralClient', () => {
  it('an unusable token URL ends in a visible error, not a silent failure', async () => {
    const el = document.createElement('astral-phone');
    el.setAttribute('server', location.origin);
    el.setAttribute('token-url', '/__astral_test__/no-such-token');
    mount(el);
    const banner = await waitFor(() => part(el, 'error'), 'the error banner', 5000);
    equal(banner.getAttribute('role'), 'alert', 'alert role');
    assert(/token/i.test(text(banner)), `message mentions the token: ${text(banner)}`);
    equal(el.state, 'disconnected', 'state');
    assert(el.client && el.client.constructor.name === 'AstralClient', 'real client created');
  });
});
