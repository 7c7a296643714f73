import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  // Route-mapping logs are noise in the demo; warnings and errors still show.
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  console.log(`HTTP app listening on http://127.0.0.1:${port}`);
  console.log(`Dashboard: http://127.0.0.1:${port}/resque`);
}
void bootstrap();
