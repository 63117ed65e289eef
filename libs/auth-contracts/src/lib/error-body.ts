import { z } from 'zod';
import { ERROR_CODE_LIST, ERROR_REASONS } from './error-codes';

/** `{"error": "<code>", "message": "<human text>", "request_id": "<id>"}` */
export const ErrorBodySchema = z.object({
  error: z.enum(ERROR_CODE_LIST),
  message: z.string(),
  request_id: z.string(),
  /** Present on 403 `ticket_invalid` and 401 `invalid_subject_token`. */
  reason: z.enum(ERROR_REASONS).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
