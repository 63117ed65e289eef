import { z } from 'zod';

/** `GET /health/live` and `GET /health/ready`: 200 when `ok`, 503 naming what failed. */
export const HealthResponseSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), z.enum(['up', 'down'])),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
