// IceRecovery: when ICE restarts start and stop, and what they ask of the server and the transport (a scripted transport).
import { IceRecovery, type WatchedTransport } from '../src/client/ice-recovery.js';
import { deepEqual, equal, sleep, waitFor } from './helpers.js';

/** A transport whose connection state the test drives; records every restartIce it is given. */
class ScriptedTransport implements WatchedTransport {
  readonly id = 'transport-1';
  closed = false;
  connectionState = 'connected';
  readonly restarts: unknown[] = [];
  private listener: (state: string) => void = () => undefined;
  on(_event: 'connectionstatechange', listener: (state: string) => void): void {
    this.listener = listener;
  }
  async restartIce({ iceParameters }: { iceParameters: unknown }): Promise<void> {
    this.restarts.push(iceParameters);
  }
  become(state: string): void {
    this.connectionState = state;
    this.listener(state);
  }
}

const FAST = { disconnectedGraceMs: 40, firstRetryMs: 10, maxRetryMs: 20 };

function watched(active = true) {
  const transport = new ScriptedTransport();
  const log: string[] = [];
  let asked = 0;
  let serverDown = false;
  const recovery = new IceRecovery(
    transport,
    {
      iceParameters: async (id) => {
        if (serverDown) throw new Error('no answer from the server');
        return { usernameFragment: `${id}-${++asked}` };
      },
      lost: () => log.push('lost'),
      recovered: () => log.push('recovered'),
    },
    FAST,
  );
  recovery.setActive(active);
  return { transport, recovery, log, setServerDown: (down: boolean) => (serverDown = down) };
}

describe('ICE recovery', () => {
  it('restarts at once on failed with the server\'s parameters, retries until connected, then stops', async () => {
    const { transport, recovery, log } = watched();
    transport.become('failed');
    deepEqual(log, ['lost'], 'reported lost at once');
    equal(recovery.lost, true, 'lost');
    await waitFor(() => transport.restarts.length >= 3, 'repeated restarts while still failed');
    deepEqual(transport.restarts[0], { usernameFragment: 'transport-1-1' }, 'restarted with the parameters the server gave');
    transport.become('connected');
    deepEqual(log, ['lost', 'recovered'], 'reported recovered');
    const settled = transport.restarts.length;
    await sleep(100);
    equal(transport.restarts.length, settled, 'no restart once connected');
  });

  it('lets a short disconnected blip pass, and counts a long one as lost', async () => {
    const { transport, log } = watched();
    transport.become('disconnected');
    transport.become('connected');
    await sleep(100);
    deepEqual(log, [], 'a blip that recovered by itself is not a loss');
    equal(transport.restarts.length, 0, 'no restart for a blip');
    transport.become('disconnected');
    await waitFor(() => log.length === 1, 'a lasting disconnection reported');
    deepEqual(log, ['lost'], 'lost after the grace');
    await waitFor(() => transport.restarts.length >= 1, 'a restart after the grace');
  });

  it('keeps trying while the server does not answer', async () => {
    const { transport, setServerDown } = watched();
    setServerDown(true);
    transport.become('failed');
    await sleep(80);
    equal(transport.restarts.length, 0, 'nothing to restart with yet');
    setServerDown(false);
    await waitFor(() => transport.restarts.length >= 1, 'a restart once the server answers');
  });

  it('restarts only while a call uses the transport, and picks up a loss when the next call starts', async () => {
    const { transport, recovery, log } = watched(false);
    transport.become('failed');
    deepEqual(log, ['lost'], 'the loss is still reported');
    await sleep(80);
    equal(transport.restarts.length, 0, 'no restart while idle');
    recovery.setActive(true);
    await waitFor(() => transport.restarts.length >= 1, 'a restart when the call starts');
    recovery.setActive(false);
    const atHangup = transport.restarts.length;
    await sleep(80);
    equal(transport.restarts.length, atHangup, 'restarts stop at hangup');
  });

  it('stops for good when the transport closes', async () => {
    const { transport } = watched();
    transport.become('failed');
    await waitFor(() => transport.restarts.length >= 1, 'a first restart');
    transport.closed = true;
    transport.become('closed');
    const atClose = transport.restarts.length;
    await sleep(80);
    equal(transport.restarts.length, atClose, 'no restart after close');
  });
});
