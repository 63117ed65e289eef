import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import {
  TokenExchangeRequest,
  TokenExchangeRequestSchema,
  TokenExchangeResponse,
} from '@admitone/auth-contracts';
import { ZodBody } from '@admitone/service-runtime';
import type { Request } from 'express';
import { TokenExchangeService } from './token-exchange.service';

@Controller('auth')
export class TokenExchangeController {
  constructor(private readonly tokenExchange: TokenExchangeService) {}

  @Post('token-exchange')
  @HttpCode(200)
  exchange(
    @Body(new ZodBody(TokenExchangeRequestSchema)) body: TokenExchangeRequest,
    @Req() req: Request,
  ): Promise<TokenExchangeResponse> {
    return this.tokenExchange.exchange(body, req.ip ?? 'unknown');
  }
}
