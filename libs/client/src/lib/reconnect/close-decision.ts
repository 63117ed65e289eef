import { ClientAction, closeCodeInfo } from '@admitone/agent-events';

/**
 * What the client does when its socket closes, read from the contract's
 * close-code table (closeCodeInfo in @admitone/agent-events, shared with the
 * gateway) rather than from codes written here:
 * - 'stop' (1000, 1008, 1009): closed, no reconnect;
 * - 'login' (4403): closed, the app is told to log in again;
 * - 'reconnect_now' (1001, 1012, 4401): a new ticket and a new socket at once;
 * - 'reconnect_backoff' (1006, 1011, 1013, 4429, unknown codes): after a backoff delay.
 * A browser sees a refused upgrade only as 1006; whether that was an auth
 * failure is settled by the next ticket request (401/403 stops the client).
 */
export type CloseDecision =
  | { kind: 'stop'; name: string; meaning: string; action: ClientAction }
  | { kind: 'login'; name: string; meaning: string; action: ClientAction }
  | {
      kind: 'reconnect';
      when: 'now' | 'backoff';
      name: string;
      meaning: string;
      action: ClientAction;
    };

export function decideOnClose(code: number): CloseDecision {
  const { name, meaning, action } = closeCodeInfo(code);
  switch (action) {
    case 'stop':
      return { kind: 'stop', name, meaning, action };
    case 'login':
      return { kind: 'login', name, meaning, action };
    case 'reconnect_now':
      return { kind: 'reconnect', when: 'now', name, meaning, action };
    case 'reconnect_backoff':
      return { kind: 'reconnect', when: 'backoff', name, meaning, action };
  }
}
