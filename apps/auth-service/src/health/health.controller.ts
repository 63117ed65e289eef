import { Controller, Get } from '@nestjs/common';
import type { HealthResponse } from '@admitone/auth-contracts';

@Controller('health')
export class HealthController {
  @Get('live')
  live(): HealthResponse {
    return { status: 'ok', checks: {} };
  }
}
