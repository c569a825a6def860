import { describe, expect, it } from 'vitest';
import { AddressPolicy } from './address-policy.ts';

const noOwn = () => new Set<string>();

// Every class a plugin must not reach, with the network that would open it for one tenant.
const REFUSED: Array<[string, string, string]> = [
  ['127.0.0.1', 'loopback', '127.0.0.0/8'],
  ['127.9.9.9', 'loopback', '127.0.0.0/8'],
  ['::1', 'loopback', '::1/128'],
  ['169.254.169.254', 'linkLocal', '169.254.0.0/16'],
  ['fe80::1', 'linkLocal', 'fe80::/10'],
  ['10.1.2.3', 'private', '10.0.0.0/8'],
  ['172.16.5.5', 'private', '172.16.0.0/12'],
  ['192.168.1.1', 'private', '192.168.0.0/16'],
  ['100.64.0.1', 'carrierGradeNat', '100.64.0.0/10'],
  ['100.127.255.254', 'carrierGradeNat', '100.64.0.0/10'],
  ['fc00::1', 'uniqueLocal', 'fc00::/7'],
  ['fd12:3456::1', 'uniqueLocal', 'fc00::/7'],
  ['0.0.0.0', 'unspecified', '0.0.0.0/8'],
  ['::', 'unspecified', '::/128'],
  ['224.0.0.1', 'multicast', '224.0.0.0/4'],
  ['ff02::1', 'multicast', 'ff00::/8'],
  ['255.255.255.255', 'broadcast', '255.255.255.255/32'],
  // IPv4-mapped IPv6 forms are judged as the IPv4 address they carry.
  ['::ffff:127.0.0.1', 'loopback', '127.0.0.0/8'],
  ['::ffff:10.0.0.1', 'private', '10.0.0.0/8'],
  ['::ffff:169.254.169.254', 'linkLocal', '169.254.0.0/16'],
  ['::ffff:100.64.1.1', 'carrierGradeNat', '100.64.0.0/10'],
  ['::ffff:0.0.0.0', 'unspecified', '0.0.0.0/8'],
  // NAT64 embeds any IPv4 address, so it is refused as a class.
  ['64:ff9b::7f00:1', 'rfc6052', '64:ff9b::/96'],
];

describe('outbound address policy', () => {
  it.each(REFUSED)('refuses %s (%s) without an allow-list', (ip, reason) => {
    expect(new AddressPolicy([], noOwn).check(ip)).toEqual({ allowed: false, reason });
  });

  it.each(REFUSED)('allows %s (%s) when the operator allows %s for the tenant', (ip, _reason, net) => {
    expect(new AddressPolicy([net], noOwn).check(ip)).toEqual({ allowed: true });
  });

  it('an allow-list opens only the networks it names', () => {
    const policy = new AddressPolicy(['10.0.0.0/24', '127.0.0.1'], noOwn);
    expect(policy.check('10.0.0.7').allowed).toBe(true);
    expect(policy.check('10.0.1.7')).toEqual({ allowed: false, reason: 'private' });
    expect(policy.check('127.0.0.1').allowed).toBe(true);
    expect(policy.check('127.0.0.2')).toEqual({ allowed: false, reason: 'loopback' });
    expect(policy.check('192.168.0.1')).toEqual({ allowed: false, reason: 'private' });
  });

  it('allows public unicast addresses', () => {
    const policy = new AddressPolicy([], noOwn);
    for (const ip of ['93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])
      expect(policy.check(ip), ip).toEqual({ allowed: true });
  });

  it("refuses core's own addresses, even public ones, unless allowed", () => {
    const own = () => new Set(['203.0.113.50', '2001:4860::5']);
    expect(new AddressPolicy([], own).check('203.0.113.50')).toEqual({
      allowed: false,
      reason: "core's own address",
    });
    expect(new AddressPolicy([], own).check('2001:4860::5').allowed).toBe(false);
    expect(new AddressPolicy(['203.0.113.50'], own).check('203.0.113.50').allowed).toBe(true);
  });

  it("knows this machine's interfaces by default", () => {
    // Loopback is always one of them; the reason given is the stronger "own address".
    expect(new AddressPolicy().check('127.0.0.1')).toEqual({ allowed: false, reason: "core's own address" });
  });

  it('refuses what is not an address, and a bad allow-list entry throws', () => {
    expect(new AddressPolicy([], noOwn).check('example.com').allowed).toBe(false);
    expect(() => new AddressPolicy(['10.0.0.0/99'])).toThrow();
  });
});
