import { describe, expect, it } from 'vitest';
import { buildWorkerId, parseWorkerId } from '../lib/protocol/protocol.worker-id.js';
import { readFixture } from './support/fixtures.js';

describe('worker ids', () => {
  it('builds and parses the ids php-resque and Ruby wrote', () => {
    for (const scenario of ['php-worker-busy', 'ruby-worker-busy', 'php-failure', 'ruby-failure']) {
      const fixture = readFixture(scenario);
      const id = fixture.returns['worker id'] as string;
      expect(fixture.keys['resque:workers']!.value).toEqual([id]);
      const parts = parseWorkerId(id);
      expect(parts, id).not.toBeNull();
      expect(parts!.host).toBe('vm');
      expect(parts!.queues).toEqual(['default']);
      expect(String(parts!.pid)).toBe(id.split(':')[1]);
      expect(buildWorkerId(parts!.host, parts!.pid, parts!.queues)).toBe(id);
    }
    expect(buildWorkerId('vm', 1185, ['default'])).toBe('vm:1185:default');
    expect(parseWorkerId('vm:1185:default')).toEqual({ host: 'vm', pid: 1185, queues: ['default'] });
  });

  it('keeps * as configured', () => {
    expect(buildWorkerId('vm', 7, ['*'])).toBe('vm:7:*');
    expect(parseWorkerId('vm:7:*')).toEqual({ host: 'vm', pid: 7, queues: ['*'] });
    expect(buildWorkerId('vm', 7, ['critical', '*'])).toBe('vm:7:critical,*');
  });

  it('joins several queues with commas, in order, trimmed like Ruby', () => {
    expect(buildWorkerId('web-1.example', 42, ['critical', 'default', 'low'])).toBe('web-1.example:42:critical,default,low');
    expect(buildWorkerId('h', 1, [' high ', 'low'])).toBe('h:1:high,low');
    expect(parseWorkerId('web-1.example:42:critical,default,low')).toEqual({
      host: 'web-1.example',
      pid: 42,
      queues: ['critical', 'default', 'low'],
    });
  });

  it("reads node-resque's host:pid and multiWorker host:pid+n ids", () => {
    expect(parseWorkerId('node-box:4321+1')).toEqual({ host: 'node-box', pid: 4321, queues: [] });
    expect(parseWorkerId('node-box:4321')).toEqual({ host: 'node-box', pid: 4321, queues: [] });
    expect(parseWorkerId('node-box:4321+2:mail,default')).toEqual({ host: 'node-box', pid: 4321, queues: ['mail', 'default'] });
  });

  it('returns null for malformed ids', () => {
    for (const id of ['', 'nocolon', ':123:q', 'host:abc:q', 'host::q', 'host:']) expect(parseWorkerId(id), id).toBeNull();
  });
});
