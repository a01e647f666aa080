/**
 * The runner's temp folders beside a stage's artifact folder: `.tmp-<instance>@<host>@<pid>` (the stage writes there)
 * and `.old-<instance>@<host>@<pid>` (the previous artifact, for the moment of the swap). A hard kill (`kill -9`, an
 * OOM kill, a lost node) leaves them behind; the next run of that instance sweeps the ones whose process is gone.
 * Only this host's are swept: a process id means nothing on another host (a cluster's shared filesystem).
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"

export const tempName = (what: "tmp" | "old", instance: string, host: string, pid: number): string => `.${what}-${instance}@${host}@${pid}`

/** Parses a temp folder name of `instance` (undefined for any other name). */
export const parseTempName = (name: string, instance: string): { readonly host: string; readonly pid: number } | undefined => {
  for (const what of ["tmp", "old"]) {
    const prefix = `.${what}-${instance}@`
    if (!name.startsWith(prefix)) continue
    const [host, pid, ...rest] = name.slice(prefix.length).split("@")
    if (rest.length === 0 && host && /^\d+$/.test(pid ?? "")) return { host, pid: Number(pid) }
  }
  return undefined
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Removes the temp folders of `instance` in `dir` left by dead processes on `host`; returns their names. */
export const sweepStale = (dir: string, instance: string, host: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const names = yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => [] as Array<string>))
    const swept: Array<string> = []
    for (const name of names) {
      const t = parseTempName(name, instance)
      if (!t || t.host !== host || t.pid === process.pid || alive(t.pid)) continue
      yield* fs.remove(path.join(dir, name), { recursive: true, force: true }).pipe(Effect.ignore)
      swept.push(name)
    }
    if (swept.length > 0) process.stderr.write(`[growlab] ${instance}: removed ${swept.length} temp folder(s) left by killed runs: ${swept.join(", ")}\n`)
    return swept
  })
