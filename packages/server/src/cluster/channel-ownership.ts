// ChannelOwnership: the one node running a channel's live call, cluster-wide (`astral:channel:<instance>:<channel>` in Redis).
import type { Redis } from 'ioredis';

const channelKey = (instanceId: string, channelId: string) => `astral:channel:${instanceId}:${channelId}`;
const nodeChannelsKey = (nodeId: string) => `astral:channels:${nodeId}`;

/** Takes the key unless another node holds it (this node's own claim stands); answers the holder. */
const CLAIM = `local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return owner end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], KEYS[1])
return ARGV[1]`;
/** Deletes the key only while `ARGV[1]` still holds it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], KEYS[1])
return 1`;

export class ChannelOwnership {
  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    /** The holder when it is another live node, else null. */
    private readonly remote: (nodeId: string | null) => string | null,
    private readonly onError: (err: unknown, what: string) => void,
  ) {}

  /** Claims a channel's call for this node (SET NX-like): false when another node runs it already. */
  async claim(instanceId: string, channelId: string): Promise<boolean> {
    const owner = await this.redis.eval(CLAIM, 2, channelKey(instanceId, channelId), nodeChannelsKey(this.nodeId), this.nodeId);
    return owner === this.nodeId;
  }

  /** The channel's call ended here. */
  release(instanceId: string, channelId: string): void {
    this.redis.eval(RELEASE, 2, channelKey(instanceId, channelId), nodeChannelsKey(this.nodeId), this.nodeId).catch((err: unknown) => this.onError(err, 'releasing a channel call'));
  }

  /** The other live node running the channel's call, null when it runs here or nowhere. */
  async remoteOwner(instanceId: string, channelId: string): Promise<string | null> {
    return this.remote(await this.redis.get(channelKey(instanceId, channelId)));
  }

  /** A lost node's channel calls are gone: their channels are free for a new call anywhere. */
  async forgetNode(nodeId: string): Promise<void> {
    const keys = await this.redis.smembers(nodeChannelsKey(nodeId));
    await Promise.all(keys.map((key) => this.redis.eval(RELEASE, 2, key, nodeChannelsKey(nodeId), nodeId)));
    await this.redis.del(nodeChannelsKey(nodeId));
  }
}
