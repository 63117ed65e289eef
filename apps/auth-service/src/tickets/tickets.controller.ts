import { Body, Controller, Headers, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  SessionStatusRequest,
  SessionStatusRequestSchema,
  SessionStatusResponse,
  TicketExchangeRequest,
  TicketExchangeRequestSchema,
  TicketExchangeResponse,
  TicketResponse,
} from '@admitone/auth-contracts';
import { ZodBody } from '@admitone/service-runtime';
import { SessionsService } from '../sessions/sessions.service';
import { JwtAuthGuard } from '../sessions/jwt-auth.guard';
import { CurrentPrincipal, Principal } from '../sessions/principal';
import { ServiceCredentialGuard } from './service-credential.guard';
import { TicketsService } from './tickets.service';

@Controller('websocket')
export class TicketsController {
  constructor(private readonly tickets: TicketsService) {}

  @Post('ticket')
  @HttpCode(201)
  @UseGuards(JwtAuthGuard)
  issue(
    @CurrentPrincipal() principal: Principal,
    @Headers('origin') origin?: string,
  ): Promise<TicketResponse> {
    return this.tickets.issue(principal, origin);
  }
}

/** Service-to-service endpoints, called by ws-gateway with its credential. */
@Controller('internal')
@UseGuards(ServiceCredentialGuard)
export class InternalController {
  constructor(
    private readonly tickets: TicketsService,
    private readonly sessions: SessionsService,
  ) {}

  @Post('tickets/exchange')
  @HttpCode(200)
  exchange(
    @Body(new ZodBody(TicketExchangeRequestSchema)) body: TicketExchangeRequest,
  ): Promise<TicketExchangeResponse> {
    return this.tickets.exchange(body);
  }

  @Post('sessions/status')
  @HttpCode(200)
  async status(
    @Body(new ZodBody(SessionStatusRequestSchema)) body: SessionStatusRequest,
  ): Promise<SessionStatusResponse> {
    return { inactive: await this.sessions.inactiveOf(body.session_ids) };
  }
}
