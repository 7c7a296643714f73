// Empties dist/ before a build, so the JS, declarations and maps of a deleted module never linger there (and
// get packed, or imported by a test) from an earlier build.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
