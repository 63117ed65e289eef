import fc from 'fast-check';
import { parseSeedUsers } from './seed-users';

describe('parseSeedUsers', () => {
  it('reads nothing from an unset or empty value', () => {
    expect(parseSeedUsers(undefined)).toEqual([]);
    expect(parseSeedUsers('')).toEqual([]);
    expect(parseSeedUsers(' , ,')).toEqual([]);
  });

  it('gives a user without roles the role user', () => {
    expect(parseSeedUsers('alice@example.com:alice-password')).toEqual([
      { email: 'alice@example.com', password: 'alice-password', roles: ['user'] },
    ]);
  });

  it('reads roles after the password, separated by |', () => {
    expect(parseSeedUsers('a@b.co:pw:admin|user')).toEqual([
      { email: 'a@b.co', password: 'pw', roles: ['admin', 'user'] },
    ]);
  });

  it('reads several comma-separated entries, trimming around them', () => {
    expect(parseSeedUsers(' a@b.co:one , c@d.co:two:ops ')).toEqual([
      { email: 'a@b.co', password: 'one', roles: ['user'] },
      { email: 'c@d.co', password: 'two', roles: ['ops'] },
    ]);
  });

  it('normalizes the email to lower case', () => {
    expect(parseSeedUsers('Alice@Example.COM:pw')[0].email).toBe('alice@example.com');
  });

  it('keeps a : inside the password when what follows it is not a list of roles', () => {
    expect(parseSeedUsers('a@b.co:pa:ss:Word!')).toEqual([
      { email: 'a@b.co', password: 'pa:ss:Word!', roles: ['user'] },
    ]);
    expect(parseSeedUsers('a@b.co:ends-with-colon:')).toEqual([
      { email: 'a@b.co', password: 'ends-with-colon:', roles: ['user'] },
    ]);
  });

  it('reads roles after a password that itself holds a :', () => {
    expect(parseSeedUsers('a@b.co:pa:SS:admin')).toEqual([
      { email: 'a@b.co', password: 'pa:SS', roles: ['admin'] },
    ]);
  });

  it('refuses an entry without a password, naming it by position', () => {
    expect(() => parseSeedUsers('a@b.co:ok,just-an-email')).toThrow(
      'SEED_USERS: entry 2 is not email:password[:roles]',
    );
  });

  it('refuses an invalid email, naming the entry by position and not echoing its password', () => {
    const run = () => parseSeedUsers('a@b.co:ok,not-an-email:Sup3r-Secret-Pw');
    expect(run).toThrow('SEED_USERS: entry 2 has an invalid email');
    expect(messageOf(run)).not.toContain('Sup3r-Secret-Pw');
  });

  it('refuses an empty password, also when only roles follow the email', () => {
    expect(() => parseSeedUsers('a@b.co:')).toThrow('SEED_USERS: entry 1 has an empty password');
    expect(() => parseSeedUsers('a@b.co:ok,c@d.co::admin')).toThrow(
      'SEED_USERS: entry 2 has an empty password',
    );
  });

  it('never puts a password in an error, whatever the password', () => {
    const password = fc
      .string({ minLength: 1, maxLength: 40 })
      .filter((s) => !s.includes(',') && s.trim() === s)
      .map((s) => `Pw!${s}`);
    const badEmail = fc.constantFrom('not-an-email', 'a@', '@b.co', 'a b@c.co');
    fc.assert(
      fc.property(badEmail, password, fc.nat({ max: 3 }), (email, pw, before) => {
        const entries = [
          ...Array.from({ length: before }, (_, i) => `u${i}@b.co:x`),
          `${email}:${pw}`,
        ];
        const message = messageOf(() => parseSeedUsers(entries.join(',')));
        expect(message).toMatch(new RegExp(`^SEED_USERS: entry ${before + 1} `));
        expect(message).not.toContain(pw);
      }),
    );
  });

  it('round-trips any valid password and role list', () => {
    const role = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
    const password = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes(','));
    fc.assert(
      fc.property(password, fc.array(role, { minLength: 1, maxLength: 3 }), (pw, roles) => {
        expect(parseSeedUsers(`a@b.co:${pw}:${roles.join('|')}`)).toEqual([
          { email: 'a@b.co', password: pw, roles },
        ]);
      }),
    );
  });
});

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}
