import { describe, expect, expectTypeOf, it } from 'vitest';
import { RESQUE_JOB_METADATA, RESQUE_PERFORM_METADATA, readJobMetadata } from '../lib/decorators/index.js';
import { Job, Perform, ResqueQueue, SetUp, TearDown, type JobParamsOf } from '../lib/index.js';
import { PhpEchoJob, PlainClass, RemoteOnlyJob, type EchoParams } from './apps/surface-jobs.js';

describe('@Job and method decorators', () => {
  it('store metadata under resque: keys, read through readJobMetadata', () => {
    expect(Reflect.getMetadata(RESQUE_JOB_METADATA, PhpEchoJob)).toEqual({ name: 'PhpEcho', options: { queue: 'default' } });
    expect(Reflect.getMetadata(RESQUE_PERFORM_METADATA, PhpEchoJob.prototype.perform)).toBe(true);
    const definition = readJobMetadata(PhpEchoJob)!;
    expect(definition).toEqual({
      name: 'PhpEcho',
      options: { queue: 'default' },
      classRef: PhpEchoJob,
      setUp: 'prepare',
      perform: 'perform',
      tearDown: 'cleanup',
      hooks: {
        beforePerform: [{ method: 'checkFirst', isStatic: true }],
        afterPerform: [{ method: 'after', isStatic: false }],
        onFailure: [{ method: 'failed', isStatic: false }],
      },
    });
    expect(readJobMetadata(RemoteOnlyJob)).toMatchObject({ name: 'RemoteOnly', perform: 'perform', hooks: { beforePerform: [] } });
    expect(definition.setUp).toBe('prepare');
  });

  it('returns null for classes without @Job (and for non-classes)', () => {
    expect(readJobMetadata(PlainClass)).toBeNull();
    expect(readJobMetadata('PhpEcho')).toBeNull();
  });

  it('finds @Perform on an inherited method; a subclass needs its own @Job', () => {
    class Base {
      @Perform() handle(): void {}
      @SetUp() ready(): void {}
    }
    @Job('Child')
    class Child extends Base {}
    expect(readJobMetadata(Child)).toMatchObject({ name: 'Child', perform: 'handle', setUp: 'ready' });
    class GrandChild extends Child {}
    expect(readJobMetadata(GrandChild)).toBeNull();
  });

  it('rejects two @SetUp or two @TearDown, and bad @Job arguments', () => {
    @Job('TwoSetUps')
    class TwoSetUps {
      @SetUp() a(): void {}
      @SetUp() b(): void {}
      @Perform() p(): void {}
    }
    @Job('TwoTearDowns')
    class TwoTearDowns {
      @TearDown() a(): void {}
      @TearDown() b(): void {}
      @Perform() p(): void {}
    }
    expect(() => readJobMetadata(TwoSetUps)).toThrow(/TwoSetUps has 2 @SetUp\(\) methods \(a, b\)/);
    expect(() => readJobMetadata(TwoTearDowns)).toThrow(/TwoTearDowns has 2 @TearDown\(\) methods/);
    expect(() => Job('')).toThrow(TypeError);
    expect(() => Job(42 as never)).toThrow(/name must be a non-empty string/);
  });
});

describe('typed params', () => {
  it('JobParamsOf takes the first parameter of perform, or a declared resqueParams', () => {
    expectTypeOf<JobParamsOf<typeof PhpEchoJob>>().toEqualTypeOf<EchoParams>();
    @Job('Named')
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- only its type is checked below
    class Named {
      declare readonly resqueParams: { id: number };
      @Perform() go(params: { id: number }): void {
        void params;
      }
    }
    expectTypeOf<JobParamsOf<typeof Named>>().toEqualTypeOf<{ id: number }>();
    expectTypeOf<JobParamsOf<typeof PlainClass>>().toEqualTypeOf<unknown>();
  });

  it('makes enqueue check params against the job class (compile-time; checked by tsc)', () => {
    // Never called: these lines only have to type-check (npm test runs tsc on test/).
    const compileOnly = (queue: ResqueQueue) => {
      void queue.enqueue('q', PhpEchoJob, { name: 'x', path: 'p', uni: 'u', n: 1, list: [1] });
      // @ts-expect-error n must be a number
      void queue.enqueue('q', PhpEchoJob, { name: 'x', path: 'p', uni: 'u', n: '1', list: [1] });
      // @ts-expect-error missing members
      void queue.enqueue('q', PhpEchoJob, { name: 'x' });
      void queue.enqueue('q', RemoteOnlyJob, { to: 'a' });
      // @ts-expect-error wrong member
      void queue.enqueue('q', RemoteOnlyJob, { from: 'a' });
      void queue.enqueue('q', 'AnyName', { whatever: true }); // a name string takes any params
    };
    expect(compileOnly).toBeTypeOf('function');
  });
});
