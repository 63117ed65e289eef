import { z } from 'zod';
import { ERROR_CODE_LIST, TICKET_INVALID_REASONS } from './error-codes';

/** `{"error": "<code>", "message": "<human text>", "request_id": "<id>"}` */
export const ErrorBodySchema = z.object({
  error: z.enum(ERROR_CODE_LIST),
  message: z.string(),
  request_id: z.string(),
  /** Present on 403 `ticket_invalid`. */
  reason: z.enum(TICKET_INVALID_REASONS).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
