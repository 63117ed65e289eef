import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { ErrorBody, ErrorCode } from '@admitone/auth-contracts';
import { ERROR_CODES, statusOf } from '@admitone/auth-contracts';
import type { Request, Response } from 'express';
import { requestIdFrom } from '../logging/logging';
import { ContractError, isStoreUnavailable } from './contract-error';

/**
 * Every HTTP error leaves as the contract's body
 * `{error, message, request_id}` with the status its code is bound to.
 * Unknown errors are logged and answered 500 `internal_error` without detail.
 */
@Catch()
export class ContractErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ContractErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request & { id?: string }>();
    const res = http.getResponse<Response>();
    const error = this.toContractError(exception);
    if (error.code === 'internal_error') {
      this.logger.error({ err: exception, request_id: req.id }, 'unhandled error');
    }
    if (res.headersSent) return;
    if (error.retryAfterSeconds !== undefined)
      res.setHeader('Retry-After', String(error.retryAfterSeconds));
    // Body-parser errors happen before the logging middleware assigns an id.
    const requestId = req.id ? String(req.id) : requestIdFrom(req.headers?.['x-request-id']);
    if (!res.getHeader('X-Request-Id')) res.setHeader('X-Request-Id', requestId);
    const body: ErrorBody = {
      error: error.code,
      message: error.message,
      request_id: requestId,
      ...(error.reason ? { reason: error.reason } : {}),
    };
    res.status(statusOf(error.code)).json(body);
  }

  private toContractError(exception: unknown): ContractError {
    if (exception instanceof ContractError) return exception;
    if (isStoreUnavailable(exception)) {
      return new ContractError('unavailable', 'A backing store is unreachable; retry later.', {
        retryAfterSeconds: 1,
      });
    }
    const status = this.statusOf(exception);
    const code = codeForStatus(status);
    const message =
      code === 'invalid_request' && exception instanceof Error && status !== 500
        ? describeBadRequest(exception)
        : ERROR_CODES[code].message;
    return new ContractError(code, message);
  }

  private statusOf(exception: unknown): number {
    if (exception instanceof HttpException) return exception.getStatus();
    const status = (exception as { status?: unknown; statusCode?: unknown } | null)?.status;
    return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
  }
}

function codeForStatus(status: number): ErrorCode {
  if (status === 404 || status === 405) return 'not_found';
  if (status === 401) return 'invalid_token';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'invalid_request';
  return 'internal_error';
}

function describeBadRequest(error: Error): string {
  const type = (error as { type?: string }).type;
  // Nest re-wraps body-parser's SyntaxError as BadRequestException(err.message).
  if (
    error instanceof SyntaxError ||
    (error instanceof HttpException && /JSON/.test(error.message))
  ) {
    return 'The body is not valid JSON.';
  }
  if (type === 'entity.parse.failed') return 'The body is not valid JSON.';
  if (type === 'entity.too.large') return 'The body is too large.';
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return 'Unsupported body encoding.';
  return ERROR_CODES.invalid_request.message;
}
