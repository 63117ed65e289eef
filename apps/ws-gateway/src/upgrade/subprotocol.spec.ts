import fc from 'fast-check';
import { parseSubprotocolOffer, selectSubprotocol } from './subprotocol';

const ticket = 'A'.repeat(43);

describe('parseSubprotocolOffer', () => {
  it('reads no header as no offer', () => {
    expect(parseSubprotocolOffer(undefined)).toEqual({ kind: 'none' });
  });

  it('finds agent.v1 and the ticket carrier in a browser-style list', () => {
    expect(parseSubprotocolOffer(`agent.v1, ticket.${ticket}`)).toEqual({
      kind: 'offered',
      protocols: ['agent.v1', `ticket.${ticket}`],
      hasAgent: true,
      tickets: [ticket],
    });
  });

  it.each(['', 'agent.v1,', ',agent.v1', 'agent v1', 'agent.v1,,x', 'agent.v1, agent.v1', 'a;b'])(
    'refuses the malformed list %j',
    (header) => {
      expect(parseSubprotocolOffer(header)).toEqual({ kind: 'invalid' });
    },
  );

  /** Offers that really carry tickets: browser-style lists mixed with noise. */
  const ticketText = fc.oneof(
    fc
      .uint8Array({ minLength: 32, maxLength: 32 })
      .map((b) => Buffer.from(b).toString('base64url')),
    fc.string({ unit: fc.constantFrom(...'AZaz09_-.'), maxLength: 20 }),
  );
  const offerItem = fc.oneof(
    fc.constant('agent.v1'),
    ticketText.map((t) => `ticket.${t}`),
    fc.string({ maxLength: 10 }),
  );
  const offerHeader = fc.oneof(
    fc.string(),
    fc.array(offerItem, { maxLength: 5 }).map((items) => items.join(', ')),
  );

  it('generates ticket offers (so the property below is exercised)', () => {
    const offers = fc
      .sample(offerHeader, { numRuns: 1000, seed: 16 })
      .map(parseSubprotocolOffer)
      .filter((o) => o.kind === 'offered' && o.tickets.length > 0);
    expect(offers.length).toBeGreaterThan(100);
  });

  it('never throws and never reports a ticket that was not offered', () => {
    fc.assert(
      fc.property(offerHeader, (header) => {
        const offer = parseSubprotocolOffer(header);
        const tickets = offer.kind === 'offered' ? offer.tickets : [];
        for (const t of tickets) expect(header).toContain(`ticket.${t}`);
      }),
    );
  });

  it('reports every ticket entry of a well-formed offer, and only those', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.oneof(
            fc.constant('agent.v1'),
            fc.constantFrom('chat', 'agent.v2'),
            fc
              .uint8Array({ minLength: 32, maxLength: 32 })
              .map((b) => `ticket.${Buffer.from(b).toString('base64url')}`),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (items) => {
          expect(parseSubprotocolOffer(items.join(', '))).toEqual({
            kind: 'offered',
            protocols: items,
            hasAgent: items.includes('agent.v1'),
            tickets: items.filter((i) => i.startsWith('ticket.')).map((i) => i.slice(7)),
          });
        },
      ),
    );
  });
});

describe('selectSubprotocol', () => {
  it('selects agent.v1 only, never a value carrying a credential', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.oneof(fc.constant('agent.v1'), fc.string({ minLength: 1 }))),
        (offered) => {
          const selected = selectSubprotocol(new Set(offered));
          expect(selected === false || selected === 'agent.v1').toBe(true);
          if (selected) expect(offered).toContain(selected);
        },
      ),
    );
  });
});
