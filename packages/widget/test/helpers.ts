// Test helpers for the widget component tests: mocha globals, tiny assertions, a fake AstralClient and fixtures.
import type { PartyInfo, PhoneState } from '@astral/protocol';
import type { AstralClientEvents, CallInfo, CallStats } from '../src/client/types.js';
import type { PhoneClient } from '../src/ui/client-controller.js';
import type { AstralPhone } from '../src/ui/astral-phone.js';

declare global {
  function describe(name: string, fn: () => void): void;
  function it(name: string, fn: () => void | Promise<void>): void;
  function beforeEach(fn: () => void | Promise<void>): void;
  function afterEach(fn: () => void | Promise<void>): void;
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function equal<T>(actual: T, expected: T, message: string): void {
  if (actual !== expected) throw new Error(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

export function deepEqual(actual: unknown, expected: unknown, message: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}: expected ${e}, got ${a}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns truthy or `timeoutMs` passes. */
export async function waitFor<T>(check: () => T, what: string, timeoutMs = 3000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export const ALICE: PartyInfo = { userId: 'u1', identity: 'alice', displayName: 'Alice Liddell', extension: '1001' };
export const BOB: PartyInfo = { userId: 'u2', identity: 'bob', displayName: 'Bob Smith', extension: '1002' };

/** An EventTarget stand-in for AstralClient that records every method call. */
export class FakeClient extends EventTarget implements PhoneClient {
  state: PhoneState = 'ready';
  user: PartyInfo | null = ALICE;
  activeCall: CallInfo | null = null;
  localStream: MediaStream | null = null;
  remoteStream: MediaStream | null = null;
  readonly log: { method: string; args: unknown[] }[] = [];
  /** Set to make connect() fail like a rejected token does. */
  connectError: { code: string; message: string } | null = null;

  constructor(readonly options?: unknown) {
    super();
  }

  calls(method: string): unknown[][] {
    return this.log.filter((e) => e.method === method).map((e) => e.args);
  }

  private record(method: string, ...args: unknown[]): void {
    this.log.push({ method, args });
  }

  async connect(): Promise<void> {
    this.record('connect');
    if (this.connectError) {
      this.emit('error', this.connectError);
      this.emit('state', { state: 'disconnected' });
      throw Object.assign(new Error('connection closed before the phone was ready'), { code: 'unavailable' });
    }
  }
  disconnect(): void {
    this.record('disconnect');
  }
  async call(destination: string): Promise<string> {
    this.record('call', destination);
    return 'call-1';
  }
  async answer(): Promise<void> {
    this.record('answer');
  }
  async decline(): Promise<void> {
    this.record('decline');
  }
  async hangup(): Promise<void> {
    this.record('hangup');
  }
  setMuted(muted: boolean): void {
    this.record('setMuted', muted);
  }
  sendDtmf(digits: string): void {
    this.record('sendDtmf', digits);
  }
  async getStats(): Promise<CallStats> {
    this.record('getStats');
    return { packetsSent: 1, packetsReceived: 2, bytesReceived: 3, audioLevel: 0, inputLevel: 0, jitter: 0, roundTripTime: 0, packetsLost: 0, mos: null, codec: null, iceCandidates: null };
  }

  /** Dispatches a client event the way AstralClient does, keeping the getters consistent. */
  emit<K extends keyof AstralClientEvents>(name: K, detail: AstralClientEvents[K]): void {
    if (name === 'state') this.state = (detail as AstralClientEvents['state']).state;
    if (name === 'call') this.activeCall = (detail as AstralClientEvents['call']).call;
    if (name === 'ready') this.user = (detail as AstralClientEvents['ready']).user;
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}

export function callInfo(over: Partial<CallInfo> = {}): CallInfo {
  return { id: 'call-1', direction: 'outgoing', remote: BOB, answeredAt: null, muted: false, remoteMuted: false, ...over };
}

const mounted: HTMLElement[] = [];

/** Mounts an <astral-phone> wired to a fresh FakeClient. */
export async function mountPhone(setup?: (client: FakeClient) => void): Promise<{ el: AstralPhone; client: FakeClient }> {
  const client = new FakeClient();
  setup?.(client);
  const el = document.createElement('astral-phone');
  el.attachClient(client);
  document.body.append(el);
  mounted.push(el);
  await el.updateComplete;
  return { el, client };
}

export function mount<T extends HTMLElement>(el: T): T {
  document.body.append(el);
  mounted.push(el);
  return el;
}

export function unmountAll(): void {
  for (const el of mounted.splice(0)) el.remove();
}

/** The element in the phone's shadow root with `part~=name`. */
export function part<T extends HTMLElement = HTMLElement>(el: AstralPhone, name: string): T | null {
  return el.shadowRoot!.querySelector<T>(`[part~="${name}"]`);
}

/** A dial-pad key button. */
export function padKey(el: AstralPhone, key: string): HTMLButtonElement {
  const pad = part(el, 'dialpad')!;
  const button = pad.shadowRoot!.querySelector<HTMLButtonElement>(`button[data-key="${key}"]`);
  assert(button, `dial key ${key} exists`);
  return button;
}

/** Emits a client event and waits for the phone to re-render. */
export async function emit<K extends keyof AstralClientEvents>(
  el: AstralPhone,
  client: FakeClient,
  name: K,
  detail: AstralClientEvents[K],
): Promise<void> {
  client.emit(name, detail);
  await el.updateComplete;
}

/** Puts the phone into an answered call with Bob. */
export async function startCall(el: AstralPhone, client: FakeClient, over: Partial<CallInfo> = {}): Promise<void> {
  client.emit('call', { call: callInfo({ answeredAt: Date.now(), ...over }) });
  await emit(el, client, 'state', { state: 'in-call' });
}

export function text(node: Element | null): string {
  return (node?.textContent ?? '').replace(/\s+/g, ' ').trim();
}
