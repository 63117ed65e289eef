import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthResponseSchema } from '@admitone/auth-contracts';
import { AppModule } from '../app.module';

describe('GET /health/live', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterAll(() => app.close());

  it('answers 200 with status ok over real HTTP', async () => {
    const res = await fetch(`${base}/health/live`);
    expect(res.status).toBe(200);
    expect(HealthResponseSchema.parse(await res.json()).status).toBe('ok');
  });
});
