import { Module } from '@nestjs/common';
import { AuthServiceModule } from '../auth-service/auth-service.module';
import { ConnectionsModule } from '../connections/connections.module';
import { RevocationListener } from './revocation.listener';

@Module({ imports: [AuthServiceModule, ConnectionsModule], providers: [RevocationListener] })
export class RevocationModule {}
