#!/usr/bin/env node
// Launcher for the TypeScript CLI in cli/: registers tsx's ESM loader, then runs cli/main.ts.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// Pin the project's tsconfig so running from another directory does not pick up a foreign one.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { runProcess } = await import('../cli/main.ts');
await runProcess();
