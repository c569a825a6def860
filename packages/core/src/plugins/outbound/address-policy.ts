/**
 * Which addresses a plugin's outbound HTTP may connect to. Only global unicast addresses pass;
 * every special class ipaddr.js knows (loopback, link-local, RFC 1918 private, CGNAT, unique-local,
 * unspecified, multicast, broadcast, reserved, NAT64/6to4/Teredo, which can embed any IPv4) and
 * core's own interface addresses are refused, after unwrapping IPv4-mapped IPv6 (::ffff:127.0.0.1).
 * The platform operator may open networks for one tenant in sandbox_limits.yaml
 * (`outboundAllowNetworks`, CIDRs); a manifest can never do that.
 */
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

export interface AddressVerdict {
  allowed: boolean;
  /** The class of a refused address, e.g. "loopback", "private", "core's own address". */
  reason?: string;
}

/** Parses CIDRs (a bare address means that address alone); throws on a bad one. */
export function parseNetworks(networks: readonly string[]): Cidr[] {
  return networks.map((text) => {
    if (text.includes('/')) return ipaddr.parseCIDR(text) as Cidr;
    const address = ipaddr.parse(text);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  });
}

function ownAddresses(): Set<string> {
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces()))
    for (const info of list ?? []) own.add(ipaddr.process(info.address.split('%')[0]).toString());
  return own;
}

function inAny(address: Address, networks: readonly Cidr[]): boolean {
  return networks.some(([net, bits]) => net.kind() === address.kind() && address.match(net, bits));
}

export class AddressPolicy {
  readonly #allow: Cidr[];
  readonly #own: () => Set<string>;

  constructor(allowNetworks: readonly string[] = [], own: () => Set<string> = ownAddresses) {
    this.#allow = parseNetworks(allowNetworks);
    this.#own = own;
  }

  check(ip: string): AddressVerdict {
    let address: Address;
    try {
      // process(): IPv4-mapped IPv6 becomes the IPv4 it carries, so ::ffff:10.0.0.1 is "private".
      address = ipaddr.process(ip.split('%')[0]);
    } catch {
      return { allowed: false, reason: 'not an IP address' };
    }
    if (inAny(address, this.#allow)) return { allowed: true };
    if (this.#own().has(address.toString())) return { allowed: false, reason: "core's own address" };
    const range = address.range();
    if (range !== 'unicast') return { allowed: false, reason: range };
    return { allowed: true };
  }
}
