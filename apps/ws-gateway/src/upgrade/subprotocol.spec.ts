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

  it('never throws and never reports a ticket that was not offered', () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        const offer = parseSubprotocolOffer(header);
        if (offer.kind === 'offered') {
          for (const t of offer.tickets) expect(header).toContain(`ticket.${t}`);
        }
      }),
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
