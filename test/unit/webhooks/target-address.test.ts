// Which addresses a webhook may target: public unicast only (the SSRF rule), judged by ipaddr.js's ranges.
import { expect } from 'chai';
import { refusedAddress, urlProblem } from '../../../src/webhooks/target-address.js';

describe('webhook targets: public unicast addresses only', () => {
  it('when an address is loopback, private, link-local, metadata or otherwise not public, then it is refused with its range', () => {
    const refused = {
      '127.0.0.1': 'loopback',
      '10.1.2.3': 'private',
      '172.16.0.1': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'linkLocal', // AWS, GCP and Azure metadata
      '100.100.100.200': 'carrierGradeNat', // Alibaba metadata
      '0.0.0.0': 'unspecified',
      '224.0.0.1': 'multicast',
      '::1': 'loopback',
      '::': 'unspecified',
      'fe80::1': 'linkLocal',
      'fd00:ec2::254': 'uniqueLocal', // AWS metadata over IPv6
      '::ffff:10.0.0.1': 'private', // IPv4-mapped: judged as the IPv4 address
      '::ffff:127.0.0.1': 'loopback',
    };
    for (const [address, range] of Object.entries(refused)) expect(refusedAddress(address), address).to.equal(`${address} is a ${range} address`);
  });

  it('when an address is public, then it may be a target', () => {
    for (const address of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111']) expect(refusedAddress(address), address).to.equal(undefined);
  });

  it('when a URL is not https:, then only private targets allowed let http: through; credentials never', () => {
    expect(urlProblem('http://example.com/', false)).to.equal('must be an https: URL');
    expect(urlProblem('http://example.com/', true)).to.equal(undefined);
    expect(urlProblem('ftp://example.com/', true)).to.equal('must be an https: or http: URL');
    expect(urlProblem('https://user:pw@example.com/', false)).to.equal('must not carry credentials');
    expect(urlProblem('not a url', false)).to.equal('must be an absolute URL');
  });
});
