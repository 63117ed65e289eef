import { Module } from '@nestjs/common';
import { AgentsModule } from '../agents/agents.module';
import { AuthServiceModule } from '../auth-service/auth-service.module';
import { ConnectionsModule } from '../connections/connections.module';
import { AgentGateway } from './agent.gateway';

@Module({
  imports: [ConnectionsModule, AgentsModule, AuthServiceModule],
  providers: [AgentGateway],
})
export class EndpointModule {}
