#!/usr/bin/env node
// The `stockhold` command. It loads TypeScript through tsx in this same process (no child
// process), so a supervisor's SIGTERM reaches the server directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
