// A network namespace for the server with two veth links from this host: one for HTTP/socket.io, one for media,
// so a test can cut the media path (link down) while signalling stays up. Needs root and iproute2.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ip = async (...args: string[]): Promise<string> => (await run('ip', args)).stdout;
const tc = async (netns: string, ...args: string[]): Promise<string> => (await run('ip', ['netns', 'exec', netns, 'tc', ...args])).stdout;

export interface SplitNetwork {
  /** The namespace's name (the server runs in it: `ip netns exec <name> …`). */
  name: string;
  /** The server's address for HTTP and socket.io. */
  signallingIp: string;
  /** The server's address for RTP (ASTRAL_LISTEN_IP / ASTRAL_ANNOUNCED_IP). */
  mediaIp: string;
  /** Takes the media link down on this host's side: no packet between the browsers and the server's media address. */
  cutMedia(): Promise<void>;
  /** Brings it back up and waits until the route to the media address is back. */
  restoreMedia(): Promise<void>;
  /**
   * Squeezes the media link from the server toward the browsers to `kbit` per second (a token-bucket queue of
   * `queueMs`, tc tbf): what does not fit is dropped, like an overloaded uplink. netem is not in every kernel; tbf is.
   */
  throttleMedia(kbit: number, queueMs?: number): Promise<void>;
  /** Lifts the throttle. */
  unthrottleMedia(): Promise<void>;
  /** Deletes the namespace and both links (safe to call twice, and after a failed setup). */
  close(): Promise<void>;
}

export async function splitNetwork(): Promise<SplitNetwork> {
  const id = randomBytes(3).toString('hex');
  const name = `astral-${id}`;
  // 10.X.1.0/24 carries signalling, 10.X.2.0/24 media; X random per run so parallel runs do not clash.
  const net = `10.${100 + (parseInt(id.slice(0, 2), 16) % 150)}`;
  const links = { signalling: `as${id}s`, media: `as${id}m` };
  const inside = (link: string) => `${link}n`;
  const close = async () => {
    for (const link of Object.values(links)) await ip('link', 'del', link).catch(() => undefined);
    await ip('netns', 'del', name).catch(() => undefined);
  };
  try {
    await ip('netns', 'add', name);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    for (const [i, link] of [links.signalling, links.media].entries()) {
      await ip('link', 'add', link, 'type', 'veth', 'peer', 'name', inside(link));
      await ip('link', 'set', inside(link), 'netns', name);
      await ip('addr', 'add', `${net}.${i + 1}.1/24`, 'dev', link);
      await ip('-n', name, 'addr', 'add', `${net}.${i + 1}.2/24`, 'dev', inside(link));
      await ip('link', 'set', link, 'up');
      await ip('-n', name, 'link', 'set', inside(link), 'up');
    }
  } catch (err) {
    await close();
    throw err;
  }
  const mediaIp = `${net}.2.2`;
  return {
    name,
    signallingIp: `${net}.1.2`,
    mediaIp,
    cutMedia: async () => void (await ip('link', 'set', links.media, 'down')),
    async restoreMedia() {
      await ip('link', 'set', links.media, 'up');
      for (let i = 0; i < 100; i++) {
        if ((await ip('route', 'get', mediaIp)).includes(`dev ${links.media}`)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the route to ${mediaIp} did not come back over ${links.media}`);
    },
    // The server's side of the media link: its egress carries everything the browsers receive.
    throttleMedia: async (kbit, queueMs = 50) =>
      void (await tc(name, 'qdisc', 'replace', 'dev', inside(links.media), 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '1600', 'latency', `${queueMs}ms`)),
    unthrottleMedia: async () => void (await tc(name, 'qdisc', 'del', 'dev', inside(links.media), 'root').catch(() => '')),
    close,
  };
}
