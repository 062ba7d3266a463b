// Address checks for SIP trunks: host names, IP allow-lists (CIDR blocks or single addresses) and matching a source.
import { BlockList, isIP } from 'node:net';

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A DNS host name (letters, digits, hyphens; dot-separated labels of up to 63; at most 253 characters) or an IP address. */
export function isHost(host: string): boolean {
  if (isIP(host)) return true;
  if (host.length > 253) return false;
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  // An all-numeric last label would be a mistyped IPv4 address (`10.0.0.256`), not a name.
  return labels.every((l) => LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

export interface IpBlock {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `1.2.3.0/24`, `2001:db8::/32` or a single address (a /32 or /128); null when it is neither. */
export function parseIpBlock(text: string): IpBlock | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return null;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const bits = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(bits)) return null;
    prefix = Number(bits);
  }
  if (prefix > max) return null;
  try {
    new BlockList().addSubnet(address, prefix, family);
  } catch {
    return null;
  }
  return { address, prefix, family };
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) is 1.2.3.4. */
function unmapped(address: string): string {
  const m = /^::ffff:([0-9.]+)$/i.exec(address);
  return m && isIP(m[1]!) === 4 ? m[1]! : address;
}

/** A matcher for an allow-list of blocks (entries that do not parse are ignored; validate them on input). */
export function ipAllowList(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const block = parseIpBlock(entry);
    if (block) list.addSubnet(block.address, block.prefix, block.family);
  }
  return (address: string) => {
    const a = unmapped(address);
    const version = isIP(a);
    return version !== 0 && list.check(a, version === 4 ? 'ipv4' : 'ipv6');
  };
}
