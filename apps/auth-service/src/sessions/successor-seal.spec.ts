import { randomToken } from '@admitone/service-runtime';
import { openSuccessor, sealSuccessor } from './successor-seal';

describe('successor seal', () => {
  it('opens under the predecessor it was sealed with, to the successor', () => {
    const [predecessor, successor] = [randomToken(), randomToken()];
    expect(openSuccessor(predecessor, sealSuccessor(predecessor, successor))).toBe(successor);
  });

  it('never contains the successor in clear, and differs on every seal', () => {
    const [predecessor, successor] = [randomToken(), randomToken()];
    const [a, b] = [sealSuccessor(predecessor, successor), sealSuccessor(predecessor, successor)];
    expect(a).not.toBe(b);
    for (const sealed of [a, b]) {
      expect(sealed).not.toContain(successor);
      expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain(successor);
    }
  });

  it('does not open under another token, nor when tampered with or truncated', () => {
    const [predecessor, successor] = [randomToken(), randomToken()];
    const sealed = sealSuccessor(predecessor, successor);
    expect(openSuccessor(randomToken(), sealed)).toBeNull();
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[bytes.length - 1] ^= 1;
    expect(openSuccessor(predecessor, bytes.toString('base64url'))).toBeNull();
    expect(openSuccessor(predecessor, sealed.slice(0, 20))).toBeNull();
    expect(openSuccessor(predecessor, '')).toBeNull();
  });
});
