/** Shared test helpers: where the real datasets are, a settings provider without the environment, temp folders. */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
/** The setting tests and CI use (relative to the repository root). */
export const DATA_DIR = process.env.GROWLAB_DATA_DIR ?? "../shared/datasets"
export const DATA_DIR_ABS = path.resolve(REPO_ROOT, DATA_DIR)

/** Runs an effect with settings from `entries` only (no GROWLAB_DATA_DIR from the environment). */
export const withSettings = (entries: Record<string, string> = {}) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))

export const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "growlab-data-" }))

/** Every file below a folder (relative paths), to check that nothing was written. */
export const listFiles = (dir: string): Effect.Effect<Array<string>, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.readDirectory(dir, { recursive: true }).pipe(
      Effect.flatMap((names) => Effect.filter(names, (n) => Effect.map(fs.stat(path.join(dir, n)), (s) => s.type === "File"))),
      Effect.map((names) => names.sort()),
      Effect.orDie
    ))
