import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { readJobMetadata } from '../decorators/decorators.metadata.js';
import type { JobDefinition } from '../decorators/decorators.types.js';
import { resolveJobName } from './job.name.js';

/** Nest's InstanceWrapper, without a deep import of Nest internals. */
export type ProviderWrapper = ReturnType<DiscoveryService['getProviders']>[number];

export type RegisteredJob = JobDefinition & {
  wrapper: ProviderWrapper;
  /** False for request/transient-scoped providers: resolve an instance per job through ModuleRef. */
  isStatic: boolean;
};

/**
 * Every `@Job` provider of the application, collected at bootstrap (onModuleInit). Bootstrap fails on a
 * duplicate job name, a `@Job` without `@Perform()` or one with two `@Perform()` methods.
 */
@Injectable()
export class ResqueJobRegistry implements OnModuleInit {
  private readonly byName = new Map<string, RegisteredJob>();
  private readonly byClass = new Map<Function, RegisteredJob>();
  private collected = false;

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    this.collect();
  }

  /** Collects once (idempotent); other providers may call it from their own onModuleInit. */
  collect(): void {
    if (this.collected) return;
    const problems: string[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const classRef = classOf(wrapper);
      if (!classRef || this.byClass.has(classRef)) continue;
      let definition: JobDefinition | null;
      try {
        definition = readJobMetadata(classRef);
      } catch (error) {
        problems.push((error as Error).message);
        continue;
      }
      if (!definition) continue;
      const existing = this.byName.get(definition.name);
      if (existing) {
        problems.push(
          `two job classes are named '${definition.name}': ${existing.classRef.name} and ${classRef.name} (job names must be unique)`,
        );
        continue;
      }
      const isStatic = !wrapper.isTransient && wrapper.isDependencyTreeStatic();
      const registered: RegisteredJob = { ...definition, wrapper, isStatic };
      this.byName.set(definition.name, registered);
      this.byClass.set(classRef, registered);
    }
    if (problems.length > 0) throw new Error(`Resque job registry: ${problems.join('; ')}`);
    this.collected = true;
  }

  get(name: string): RegisteredJob | undefined {
    return this.byName.get(name);
  }

  all(): RegisteredJob[] {
    return [...this.byName.values()];
  }

  /**
   * The job name of a `@Job` class, registered as a provider or not (producers may enqueue jobs they do
   * not run). TypeError for anything else, a name string included.
   */
  nameOf(classRef: unknown): string {
    if (typeof classRef !== 'function') throw new TypeError(`job must be a @Job() class, got ${typeof classRef}`);
    return resolveJobName(classRef).className;
  }
}

function classOf(wrapper: ProviderWrapper): Function | null {
  // Class providers carry their class in metatype; for factory/value providers look at the instance.
  if (!wrapper.isFactory && typeof wrapper.metatype === 'function' && wrapper.metatype.prototype) return wrapper.metatype;
  const instance: unknown = wrapper.instance;
  if (instance && typeof instance === 'object' && typeof instance.constructor === 'function' && instance.constructor !== Object) {
    return instance.constructor;
  }
  return null;
}
