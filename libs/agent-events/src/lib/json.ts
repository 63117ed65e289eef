import { z } from 'zod';

/** Any JSON value: tool inputs and outputs are free-form but must survive the wire. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
export const JsonValueSchema: z.ZodType<JsonValue> = z.json();
