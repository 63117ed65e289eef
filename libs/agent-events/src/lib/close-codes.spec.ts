import { CLOSE_CODES, closeCodeInfo } from './close-codes';

describe('close codes', () => {
  it('lists exactly the codes of contract 4.5 plus the client-observed 1006', () => {
    const codes = Object.values(CLOSE_CODES)
      .map((c) => c.code)
      .sort((a, b) => a - b);
    expect(codes).toEqual([1000, 1001, 1006, 1008, 1009, 1011, 1012, 1013, 4401, 4403, 4429]);
  });

  it('tells a client to stop on 1000, 1008 and 1009 and to go to login on 4403', () => {
    expect([1000, 1008, 1009].map((c) => closeCodeInfo(c).action)).toEqual([
      'stop',
      'stop',
      'stop',
    ]);
    expect(closeCodeInfo(4403).action).toBe('login');
  });

  it('tells a client to reconnect at once on 1001, 1012 and 4401, with backoff on 1011, 1013 and 4429', () => {
    expect([1001, 1012, 4401].map((c) => closeCodeInfo(c).action)).toEqual(
      Array(3).fill('reconnect_now'),
    );
    expect([1006, 1011, 1013, 4429].map((c) => closeCodeInfo(c).action)).toEqual(
      Array(4).fill('reconnect_backoff'),
    );
  });

  it('backs off on a code it does not know', () => {
    expect(closeCodeInfo(4999)).toMatchObject({ name: 'unknown', action: 'reconnect_backoff' });
  });
});
