// A module that sets neither namespace nor connection, for `nestjs-resque worker|scheduler`: inside the CLI
// and the hosts, PREFIX and REDIS_BACKEND fill them in. ENV_PROBE_LOGGER=off sets `logger: false`.
import { Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ResqueConnection, ResqueModule } from '../../lib/index.js';

/** Writes `<namespace>:env-probe` where the module's connection points, so a test sees which Redis and namespace it got. */
@Injectable()
export class EnvProbe implements OnApplicationBootstrap {
  constructor(private readonly connection: ResqueConnection) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.connection.client.set(this.connection.keys.key('env-probe'), String(process.pid));
  }
}

@Module({
  imports: [ResqueModule.forRoot({ logger: process.env['ENV_PROBE_LOGGER'] !== 'off' })],
  providers: [EnvProbe],
})
export class EnvModule {}

export default EnvModule;
