import { INestApplication } from '@nestjs/common';
import type { CorsOptions } from '@nestjs/common/interfaces/external/cors-options.interface';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { SESSION_STATUS_MAX_BODY_BYTES } from '@admitone/auth-contracts';
import { ContractErrorFilter, quietFrameworkLogs } from '@admitone/service-runtime';
import { json, Request } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AuthConfig } from './config/auth-config';
import { buildOpenApiDocument } from './docs/openapi';

/** Builds the HTTP application from a validated configuration. */
export async function createAuthApp(config: AuthConfig): Promise<INestApplication> {
  // bodyParser: false, then JSON only: Nest's default also parses urlencoded
  // forms, which would let a cross-site HTML form log in (contract: JSON bodies).
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    // Start-up failures reach main.ts's JSON fatal line instead of Nest's own abort.
    abortOnError: false,
    bodyParser: false,
  });
  // Nest's module and route start-up lines at debug: the terminal shows requests and refusals.
  app.useLogger(quietFrameworkLogs(app.get(Logger)));
  app.useGlobalFilters(new ContractErrorFilter());
  app.set('trust proxy', config.TRUST_PROXY);
  app.disable('x-powered-by');
  // No ETag: a SHA-1 of every JSON body that no client revalidates against.
  app.set('etag', false);
  // The gateways' session re-check posts up to SESSION_STATUS_MAX_IDS ids at
  // once, more than 32 KiB: that one route gets the larger limit its contract
  // documents (registered first, so the general parser leaves its body alone).
  app.use('/internal/sessions/status', json({ limit: SESSION_STATUS_MAX_BODY_BYTES }));
  app.useBodyParser('json', { limit: '32kb' });
  const allowed = config.ALLOWED_ORIGINS;
  const cors: CorsOptions = {
    origin: (origin, callback) =>
      callback(null, !origin || allowed.includes('*') || allowed.includes(origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    exposedHeaders: ['Retry-After', 'X-Request-Id'],
    maxAge: 600,
  };
  // The internal API is server-to-server: no CORS headers (nor preflights) there.
  const noCors: CorsOptions = { origin: false };
  app.enableCors((req: Request, callback) =>
    callback(null, req.originalUrl.startsWith('/internal/') ? noCors : cors),
  );
  SwaggerModule.setup('docs', app, buildOpenApiDocument(), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
  // Exit 0 after a graceful shutdown instead of re-raising the signal (143).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  return app;
}
