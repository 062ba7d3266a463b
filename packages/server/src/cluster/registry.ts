// NodeRegistry: this node's entry in Redis (endpoint, region, load, draining) kept alive by a heartbeat with a TTL, the
// live peers read on every beat, lost peers detected (their entry expired), and the node a new call's media goes to.
import type { ClusterBus } from './bus.js';

export interface NodeInfo {
  id: string;
  /** The node's own HTTP endpoint (signalling, REST). */
  url: string;
  /** The IP its media (WebRTC) is announced on. */
  mediaIp: string;
  regions: string[];
  /** Live calls it owns. */
  load: number;
  draining: boolean;
}

const NODES = 'astral:nodes';
const nodeKey = (id: string) => `astral:node:${id}`;

export interface RegistryOptions {
  intervalMs: number;
  /** An entry not refreshed for this long is a lost node. */
  ttlMs: number;
  describe(): Omit<NodeInfo, 'id'>;
  /** A peer's entry expired (it died without leaving). */
  lost(nodeId: string): void;
  /** This node's entry had expired before a beat (it stalled longer than the TTL): peers may have taken it for lost. */
  rejoined(): void;
  /** After each beat, with the live node ids (peers that left or were lost are missing). */
  refreshed(liveIds: Set<string>): void;
  onError(err: unknown, what: string): void;
}

export class NodeRegistry {
  private timer: NodeJS.Timeout | null = null;
  private peers = new Map<string, NodeInfo>();
  /** Lost nodes already reported, until they leave the node set. */
  private readonly reported = new Set<string>();
  private beats = 0;

  constructor(
    private readonly bus: ClusterBus,
    private readonly opts: RegistryOptions,
  ) {}

  get nodeId(): string {
    return this.bus.nodeId;
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch((err: unknown) => this.opts.onError(err, 'node heartbeat')), this.opts.intervalMs);
    this.timer.unref();
  }

  /** The live nodes, this one included, as of the last beat. */
  get live(): NodeInfo[] {
    return [...this.peers.values()];
  }

  isLive(nodeId: string): boolean {
    return this.peers.has(nodeId);
  }

  /** `nodeId` when it names another live node; null for this node, a lost one or none (what runs here then). */
  remote(nodeId: string | null): string | null {
    return nodeId !== null && nodeId !== this.nodeId && this.isLive(nodeId) ? nodeId : null;
  }

  /**
   * Where a new call's media goes: a live node that is not draining and serves the region, the least loaded first;
   * this node wins ties (no hop for the caller). Null when no node takes calls.
   */
  pick(region: string): string | null {
    const candidates = this.live.filter((n) => !n.draining && n.regions.includes(region));
    if (candidates.length === 0) return null;
    const least = Math.min(...candidates.map((n) => n.load));
    const best = candidates.filter((n) => n.load === least);
    return (best.find((n) => n.id === this.nodeId) ?? best[0]!).id;
  }

  /** Writes this node's entry (with its TTL) and reads every peer's: expired entries are lost nodes. */
  async beat(): Promise<void> {
    const self: NodeInfo = { id: this.nodeId, ...this.opts.describe() };
    const [[, previous] = []] = (await this.bus.redis.multi().set(nodeKey(self.id), JSON.stringify(self), 'PX', this.opts.ttlMs, 'GET').sadd(NODES, self.id).exec()) ?? [];
    if (this.beats++ > 0 && previous === null) this.opts.rejoined();
    const ids = await this.bus.redis.smembers(NODES);
    const entries = ids.length > 0 ? await this.bus.redis.mget(ids.map(nodeKey)) : [];
    const peers = new Map<string, NodeInfo>();
    ids.forEach((id, i) => {
      const raw = entries[i];
      if (raw) peers.set(id, JSON.parse(raw) as NodeInfo);
      else this.reportLost(id);
    });
    for (const id of this.reported) if (!ids.includes(id)) this.reported.delete(id);
    this.peers = peers;
    this.opts.refreshed(new Set(peers.keys()));
  }

  /**
   * Reports a lost node once: found by this node's beat, or told by the node that closes its calls (which takes it out of
   * the node set, maybe before this node's next beat would see its entry expired).
   */
  reportLost(nodeId: string): void {
    if (nodeId === this.nodeId || this.reported.has(nodeId)) return;
    this.reported.add(nodeId);
    this.peers.delete(nodeId);
    this.opts.lost(nodeId);
  }

  /** A node left the cluster (its goodbye): no longer routed to, before the next beat would see it gone. */
  drop(nodeId: string): void {
    if (nodeId !== this.nodeId) this.peers.delete(nodeId);
  }

  /** Takes a lost node out of the node set (once its calls are closed). */
  async forget(nodeId: string): Promise<void> {
    await this.bus.redis.srem(NODES, nodeId);
  }

  /** Leaves the cluster on shutdown: peers stop routing here at once instead of after the TTL. */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.bus.redis.multi().del(nodeKey(this.nodeId)).srem(NODES, this.nodeId).exec();
  }
}
