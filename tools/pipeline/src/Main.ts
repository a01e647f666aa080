/**
 * How a growlab command ends:
 *   - success: exit 0;
 *   - a typed error: one line `growlab: <message>` (file, field, expected, actual), exit 1, no stack trace unless
 *     `--verbose` (or GROWLAB_VERBOSE=1), which prints the full cause;
 *   - a command-line mistake (unknown subcommand, missing argument): @effect/cli has already printed what is wrong
 *     and the usage, exit 2;
 *   - SIGINT / SIGTERM: the running effect is interrupted (its finalizers remove temp folders), exit 130 / 143 as a
 *     shell reports a process killed by that signal. A second signal kills at once.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const

export const verbose = (argv: ReadonlyArray<string>): boolean => argv.includes("--verbose") || process.env.GROWLAB_VERBOSE === "1"

const describe = (error: unknown): string => {
  if (error && typeof error === "object") {
    const tag = (error as { _tag?: unknown })._tag
    const message = (error as { message?: unknown }).message
    if (typeof message === "string" && message !== "") return typeof tag === "string" ? `${message} [${tag}]` : message
    if (typeof tag === "string") return `${tag} ${JSON.stringify(error)}`
  }
  return String(error)
}

/** Runs a CLI program with NodeContext, growlab's error reporting and signal-aware exit codes. */
export const runCli = <E>(program: Effect.Effect<void, E, NodeContext.NodeContext>, argv: ReadonlyArray<string> = process.argv) => {
  let signal: keyof typeof SIGNALS | undefined
  for (const s of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.once(s, () => { signal ??= s })
  const loud = verbose(argv)
  const report = (cause: Cause.Cause<E>) =>
    Effect.sync(() => {
      if (Cause.isInterruptedOnly(cause)) return
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return // @effect/cli printed it
      if (loud) process.stderr.write(`${Cause.pretty(cause, { renderErrorCause: true })}\n`)
      else if (Option.isSome(failure)) process.stderr.write(`growlab: ${describe(failure.value)}\n`)
      else process.stderr.write(`growlab: internal error: ${describe(Cause.squash(cause))} (rerun with --verbose for the stack trace)\n`)
    })
  program.pipe(
    Effect.tapErrorCause(report),
    Effect.provide(NodeContext.layer),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      teardown: (exit, onExit) => {
        if (signal) return onExit(128 + SIGNALS[signal])
        if (Exit.isSuccess(exit)) return onExit(0)
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return onExit(2)
        const own = Option.isSome(failure) ? (failure.value as { exitCode?: unknown }).exitCode : undefined
        onExit(typeof own === "number" ? own : 1)
      }
    })
  )
}
