import { ArgumentsHost, Catch, WsExceptionFilter } from '@nestjs/common';
import type { ClientMessage } from '@admitone/agent-events';
import { Connection } from '../connections/connection';

/**
 * A handler that throws is answered with the contract's `unavailable` error
 * (with the message's `client_msg_id` as `ref`) and logged with the
 * connection's ids, never left in silence. Nest's default filter would emit
 * an `exception` event on the client instead, which no socket ever sees.
 */
@Catch()
export class HandlerFailureFilter implements WsExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    const connection = ws.getClient<unknown>();
    if (!(connection instanceof Connection)) return;
    const message = ws.getData<Partial<ClientMessage> | undefined>();
    connection.log(
      'error',
      {
        err: exception instanceof Error ? exception.message : String(exception),
        type: message?.type,
      },
      'handler failed',
    );
    connection.sendError(
      'unavailable',
      'The request could not be handled; retry.',
      message && 'client_msg_id' in message ? message.client_msg_id : undefined,
    );
  }
}
