// TrunkDirectory: the trunks as the SIP gateway needs them — who may send INVITEs, which trunk a call goes out on, and each
// trunk's registration / OPTIONS status kept current by the user agent's monitors.
import type { FastifyBaseLogger } from 'fastify';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SecretBox } from '../auth/secret-box.js';
import type { Store } from '../store/index.js';
import type { Trunk, TrunkWithSecret } from '../store/trunks.js';
import { ipAllowList } from '../util/net.js';
import type { InboundInvite, TrunkStatus } from './types.js';
import type { SipUserAgent } from './user-agent.js';

const DEFAULT_REALM = 'astral';

export class TrunkDirectory {
  private readonly monitors = new Map<string, { instanceId: string; stop(): void }>();
  private readonly statuses = new Map<string, TrunkStatus>();

  constructor(
    private readonly deps: { store: Store; secrets: SecretBox; ua: SipUserAgent; log: FastifyBaseLogger },
  ) {}

  status(trunkId: string): TrunkStatus {
    return this.statuses.get(trunkId) ?? 'unknown';
  }

  withSecret(id: string): Promise<TrunkWithSecret | undefined> {
    return this.deps.store.trunks.withSecret(id, this.deps.secrets);
  }

  /** The named trunk of the instance, or its default. */
  async outbound(instanceId: string, name?: string): Promise<Trunk | undefined> {
    const { trunks } = this.deps.store;
    return name ? trunks.byName(instanceId, name) : trunks.defaultOf(instanceId);
  }

  /** Starts watching every trunk (server start). */
  async watchAll(): Promise<void> {
    const all = await this.deps.store.trunks.listAll();
    for (const instanceId of new Set(all.map((t) => t.instanceId))) await this.refresh(instanceId);
  }

  /** Re-reads an instance's trunks after a change: monitors restart with the new settings, removed trunks stop. */
  async refresh(instanceId: string): Promise<void> {
    for (const [id, m] of this.monitors) {
      if (m.instanceId !== instanceId) continue;
      m.stop();
      this.monitors.delete(id);
      this.statuses.delete(id);
    }
    for (const trunk of await this.deps.store.trunks.list(instanceId)) {
      const target = await this.withSecret(trunk.id).catch((err: unknown) => {
        // A password sealed under another ASTRAL_SECRET_KEY: the trunk stays `unknown` until its password is set again.
        this.deps.log.error({ err, trunk: trunk.name }, 'sip: the trunk password cannot be opened; not monitoring it');
        return undefined;
      });
      if (!target) continue;
      const monitor = this.deps.ua.monitor({ ...target, register: trunk.register }, (status) => {
        if (this.statuses.get(trunk.id) !== status) this.deps.log.info({ trunk: trunk.name, status }, 'sip: trunk status');
        this.statuses.set(trunk.id, status);
      });
      this.monitors.set(trunk.id, { instanceId, stop: () => monitor.stop() });
    }
  }

  /**
   * The trunk an INVITE comes from: by source address (its `allowed_ips`, else its host; of several, the first that
   * `serves` the call: a carrier such as Twilio sends every instance's calls from the same addresses), else by digest
   * credentials (trunks without `allowed_ips` only).
   * Answers the INVITE itself when it cannot be accepted (403, or a 401 challenge) and returns undefined.
   */
  async admit(invite: InboundInvite, serves: (trunk: Trunk) => Promise<boolean> = async () => true): Promise<TrunkWithSecret | undefined> {
    const trunks = await this.deps.store.trunks.listAll();
    const address = invite.source.address;
    const fromAddress: Trunk[] = [];
    for (const trunk of trunks) if (await this.fromTrunkAddress(trunk, address)) fromAddress.push(trunk);
    if (fromAddress.length > 0) {
      for (const trunk of fromAddress.length > 1 ? fromAddress : []) if (await serves(trunk)) return this.withSecret(trunk.id);
      return this.withSecret(fromAddress[0]!.id);
    }
    // Digest identifies the trunks that say nothing of where their INVITEs come from; an allow-list is the final word.
    const auth = invite.authorization;
    const withCredentials = trunks.filter((t) => t.username && t.hasPassword && t.allowedIps.length === 0);
    if (auth) {
      for (const trunk of withCredentials.filter((t) => t.username === auth.username)) {
        const full = await this.withSecret(trunk.id);
        if (full?.password && invite.verifyDigest(full.password)) return full;
      }
      this.deps.log.warn({ source: address, username: auth.username }, 'sip: INVITE with wrong credentials refused');
      invite.reject(403, 'Forbidden');
      return undefined;
    }
    if (withCredentials.length > 0) {
      invite.challenge(withCredentials.length === 1 ? (withCredentials[0]!.realm ?? DEFAULT_REALM) : DEFAULT_REALM);
      return undefined;
    }
    this.deps.log.warn({ source: address }, 'sip: INVITE from an address of no trunk refused');
    invite.reject(403, 'Forbidden');
    return undefined;
  }

  private async fromTrunkAddress(trunk: Trunk, address: string): Promise<boolean> {
    if (trunk.allowedIps.length > 0) return ipAllowList(trunk.allowedIps)(address);
    if (isIP(trunk.host)) return ipAllowList([trunk.host])(address);
    try {
      const resolved = await lookup(trunk.host, { all: true });
      return ipAllowList(resolved.map((r) => r.address))(address);
    } catch {
      return false;
    }
  }

  stopAll(): void {
    for (const m of this.monitors.values()) m.stop();
    this.monitors.clear();
  }
}
