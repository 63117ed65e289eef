import { Controller, Get, Header } from '@nestjs/common';
import type { Jwks } from '@admitone/auth-contracts';
import { KeyRing } from './key-ring';

@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: KeyRing) {}

  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): Jwks {
    return this.keys.jwks();
  }
}
