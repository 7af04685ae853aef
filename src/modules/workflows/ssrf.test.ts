import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertAddressAllowed,
  BlockedAddressError,
  classifyAddress,
  parseIp,
  resolveAllowedAddresses,
} from './ssrf.ts';
import type { ResolvedAddress } from './workflow-deps.ts';

const closed = { allowPrivateNetwork: false, allowedNetworks: [] };

describe('SSRF guard', () => {
  it('parses IPv4, IPv6, embedded IPv4 and zone ids', () => {
    assert.deepEqual([...(parseIp('10.1.2.3') ?? [])], [10, 1, 2, 3]);
    assert.deepEqual([...(parseIp('::1') ?? [])], [...new Array(15).fill(0), 1]);
    assert.deepEqual([...(parseIp('::ffff:127.0.0.1') ?? [])].slice(10), [0xff, 0xff, 127, 0, 0, 1]);
    assert.deepEqual(parseIp('::ffff:7f00:1'), parseIp('::ffff:127.0.0.1'));
    assert.deepEqual(parseIp('[fe80::1%eth0]'), parseIp('fe80::1'));
    assert.equal(parseIp('example.com'), undefined);
  });

  it('classifies non-public addresses, including IPv6 forms that embed IPv4', () => {
    const blocked: Array<[string, RegExp]> = [
      ['127.0.0.1', /loopback/],
      ['127.255.0.9', /loopback/],
      ['10.20.30.40', /private/],
      ['172.31.255.1', /private/],
      ['192.168.0.10', /private/],
      ['169.254.169.254', /link-local/],
      ['169.254.170.2', /link-local/],
      ['100.100.100.200', /shared/],
      ['0.0.0.0', /this network/],
      ['224.0.0.1', /multicast/],
      ['::1', /loopback/],
      ['::', /unspecified/],
      ['::ffff:127.0.0.1', /loopback, as IPv4-mapped/],
      ['::ffff:7f00:1', /loopback, as IPv4-mapped/],
      ['::ffff:10.0.0.1', /private, as IPv4-mapped/],
      ['::7f00:1', /loopback, as IPv4-compatible/],
      ['64:ff9b::a9fe:a9fe', /link-local .*NAT64/],
      ['2002:7f00:1::', /loopback, as 6to4/],
      ['fd00:ec2::254', /cloud metadata/],
      ['fe80::1%eth0', /link-local/],
      ['fc00::1', /unique local/],
      ['ff02::1', /multicast/],
    ];
    for (const [address, reason] of blocked) {
      assert.match(classifyAddress(address)?.reason ?? 'public', reason, address);
    }
    for (const address of [
      '93.184.216.34',
      '8.8.8.8',
      '172.32.0.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
    ]) {
      assert.equal(classifyAddress(address), undefined, address);
    }
  });

  it('opens private networks only when allowed, and metadata ranges only by explicit CIDR', () => {
    const open = { allowPrivateNetwork: true, allowedNetworks: [] };
    for (const a of ['10.0.0.1', '127.0.0.1', '::1', '::ffff:127.0.0.1', 'fc00::1']) {
      assert.throws(() => assertAddressAllowed(a, closed), BlockedAddressError, a);
      assert.doesNotThrow(() => assertAddressAllowed(a, open), a);
    }
    for (const a of ['169.254.169.254', 'fd00:ec2::254', 'fe80::1', '::ffff:169.254.169.254']) {
      assert.throws(() => assertAddressAllowed(a, open), /not allowed/, a);
    }
    assert.doesNotThrow(() =>
      assertAddressAllowed('169.254.169.254', { allowPrivateNetwork: false, allowedNetworks: ['169.254.169.254/32'] }),
    );
    const one = { allowPrivateNetwork: false, allowedNetworks: ['127.0.0.1/32', '10.20.0.0/16'] };
    assert.doesNotThrow(() => assertAddressAllowed('127.0.0.1', one));
    assert.doesNotThrow(() => assertAddressAllowed('::ffff:127.0.0.1', one), 'a mapped address matches its IPv4 CIDR');
    assert.doesNotThrow(() => assertAddressAllowed('10.20.5.5', one));
    assert.throws(() => assertAddressAllowed('127.0.0.2', one), /loopback/);
    assert.throws(() => assertAddressAllowed('10.21.0.1', one), /private/);
  });

  it('checks every address a name resolves to', async () => {
    const lookupOf =
      (map: Record<string, ResolvedAddress[]>) =>
      async (host: string): Promise<ResolvedAddress[]> => {
        const found = map[host];
        if (!found) throw new Error(`unexpected lookup of ${host}`);
        return found;
      };
    const lookup = lookupOf({
      'public.test': [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1::1', family: 6 },
      ],
      'mixed.test': [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ],
      'sneaky.test': [{ address: '::ffff:169.254.169.254', family: 6 }],
      'empty.test': [],
    });
    assert.equal((await resolveAllowedAddresses('public.test', closed, lookup)).length, 2);
    await assert.rejects(resolveAllowedAddresses('mixed.test', closed, lookup), /mixed\.test \(10\.0\.0\.7\).*private/);
    await assert.rejects(resolveAllowedAddresses('sneaky.test', closed, lookup), /link-local/);
    await assert.rejects(resolveAllowedAddresses('empty.test', closed, lookup), /did not resolve/);
    // IP literals are judged as they are, without a lookup.
    await assert.rejects(resolveAllowedAddresses('[::1]', closed, lookup), /loopback/);
    assert.deepEqual(await resolveAllowedAddresses('8.8.8.8', closed, lookup), [{ address: '8.8.8.8', family: 4 }]);
  });
});
