#!/usr/bin/env node
// Launcher for the growlab-cache CLI: registers tsx (TypeScript sources run as they are) and starts src/bin.ts.
const { register } = await import("tsx/esm/api")
register()
await import("./src/bin.ts")
