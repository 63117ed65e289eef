import { Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import {
  LoginRequest,
  LoginRequestSchema,
  MeResponse,
  RefreshRequest,
  RefreshRequestSchema,
  TokenResponse,
} from '@admitone/auth-contracts';
import { ContractError, ZodBody } from '@admitone/service-runtime';
import type { Request } from 'express';
import { JwtAuthGuard } from './jwt-auth.guard';
import { CurrentPrincipal, Principal } from './principal';
import { toUser, UsersService } from '../users/users.service';
import { SessionsService } from './sessions.service';

@Controller('auth')
export class AuthController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
  ) {}

  @Post('login')
  @HttpCode(200)
  login(
    @Body(new ZodBody(LoginRequestSchema)) body: LoginRequest,
    @Req() req: Request,
  ): Promise<TokenResponse> {
    return this.sessions.login(body, req.ip ?? 'unknown');
  }

  @Post('refresh')
  @HttpCode(200)
  refresh(@Body(new ZodBody(RefreshRequestSchema)) body: RefreshRequest): Promise<TokenResponse> {
    return this.sessions.refresh(body.refresh_token);
  }

  @Post('logout')
  @HttpCode(204)
  @UseGuards(JwtAuthGuard)
  async logout(@CurrentPrincipal() principal: Principal): Promise<void> {
    await this.sessions.revoke(principal.session_id, 'logout');
  }

  @Get('me')
  @UseGuards(JwtAuthGuard)
  async me(@CurrentPrincipal() principal: Principal): Promise<MeResponse> {
    const user = await this.users.findById(principal.user_id);
    if (!user || user.disabled) throw new ContractError('invalid_token');
    return toUser(user);
  }
}
