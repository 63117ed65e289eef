import { Global, Module } from '@nestjs/common';
import { MetricsModule } from '@admitone/service-runtime';
import { AuthMetrics } from './auth-metrics';

@Global()
@Module({
  imports: [MetricsModule.forService('auth-service')],
  providers: [AuthMetrics],
  exports: [AuthMetrics],
})
export class AuthMetricsModule {}
