import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module';
import { DrainService } from './drain.service';

@Module({ imports: [ConnectionsModule], providers: [DrainService] })
export class DrainModule {}
