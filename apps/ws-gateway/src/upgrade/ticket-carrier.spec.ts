import fc from 'fast-check';
import { presentTicket } from './ticket-carrier';

const t1 = 'a'.repeat(43);
const t2 = 'b'.repeat(43);
const q = (s: string) => new URLSearchParams(s);

describe('presentTicket', () => {
  it('takes a ticket from the query carrier', () => {
    expect(presentTicket(q(`ticket=${t1}`), [])).toEqual({
      kind: 'ticket',
      ticket: t1,
      carrier: 'query',
    });
  });

  it('takes a ticket from the subprotocol carrier', () => {
    expect(presentTicket(q(''), [t1])).toEqual({
      kind: 'ticket',
      ticket: t1,
      carrier: 'subprotocol',
    });
  });

  it('reports a missing ticket', () => {
    expect(presentTicket(q('other=1'), [])).toEqual({ kind: 'missing' });
  });

  it('refuses two tickets, in one carrier or across both', () => {
    expect(presentTicket(q(`ticket=${t1}&ticket=${t2}`), [])).toEqual({ kind: 'ambiguous' });
    expect(presentTicket(q(''), [t1, t2])).toEqual({ kind: 'ambiguous' });
    expect(presentTicket(q(`ticket=${t1}`), [t1])).toEqual({ kind: 'ambiguous' });
  });

  it('refuses a malformed or empty ticket', () => {
    expect(presentTicket(q('ticket='), [])).toEqual({ kind: 'malformed' });
    expect(presentTicket(q('ticket=short'), [])).toEqual({ kind: 'malformed' });
    expect(presentTicket(q(''), ['has space'.repeat(6)])).toEqual({ kind: 'malformed' });
  });

  it('never throws on any query string', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.array(fc.string()),
        (s, subs) => typeof presentTicket(q(s), subs).kind === 'string',
      ),
    );
  });
});
