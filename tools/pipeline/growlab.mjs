#!/usr/bin/env node
// Launcher for the growlab CLI: registers tsx (TypeScript sources run as they are) and starts src/bin.ts.
process.env.TF_CPP_MIN_LOG_LEVEL ??= "2"
const { register } = await import("tsx/esm/api")
register()
await import("./src/bin.ts")
