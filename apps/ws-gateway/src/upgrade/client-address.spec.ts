import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { clientAddress } from './client-address';

const PEER = '10.0.0.9';

/** The two fields clientAddress reads, as Node's parser fills them. */
function request(forwardedFor?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress: PEER },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('clientAddress', () => {
  it('uses the peer address when no proxy is trusted, whatever the header says', () => {
    expect(clientAddress(request('6.6.6.6'), 0)).toBe(PEER);
  });

  it('takes the entry the last trusted proxy appended', () => {
    expect(clientAddress(request('6.6.6.6, 1.2.3.4'), 1)).toBe('1.2.3.4');
    expect(clientAddress(request('6.6.6.6, 1.2.3.4, 10.1.1.1'), 2)).toBe('1.2.3.4');
    expect(clientAddress(request(['6.6.6.6', '1.2.3.4']), 1)).toBe('1.2.3.4');
  });

  it('falls back to the peer, never to a client-chosen entry, when the chain is shorter than the trusted hops', () => {
    expect(clientAddress(request('6.6.6.6'), 2)).toBe(PEER);
    expect(clientAddress(request(), 1)).toBe(PEER);
    expect(clientAddress(request(''), 1)).toBe(PEER);
  });

  it('never returns an entry left of the trusted hops', () => {
    fc.assert(
      fc.property(
        fc.array(fc.ipV4(), { maxLength: 6 }),
        fc.integer({ min: 1, max: 4 }),
        (chain, hops) => {
          const address = clientAddress(request(chain.join(', ')), hops);
          const trusted = chain.length >= hops ? [chain[chain.length - hops]] : [PEER];
          expect(trusted).toContain(address);
        },
      ),
    );
  });
});
