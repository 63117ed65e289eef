import { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { ContractError } from '../errors/contract-error';

/** Validates a request body with a contract schema; 400 `invalid_request` naming the field. */
export class ZodBody<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.output<S> {
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const path = issue?.path.length ? issue.path.map(String).join('.') : 'body';
    throw new ContractError('invalid_request', `${path}: ${issue?.message ?? 'invalid'}`);
  }
}
