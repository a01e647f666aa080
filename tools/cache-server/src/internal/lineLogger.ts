/** Plain log lines for a long-running server: `<ISO time> <LEVEL> <message>` (and what failed, if anything). */
import * as Cause from "effect/Cause"
import * as Logger from "effect/Logger"

/** A typed failure (settings, storage) as `Tag: message`; a defect with its stack. */
const describe = (cause: Cause.Cause<unknown>): string => {
  const failures = [...Cause.failures(cause)]
  return failures.length > 0 && Cause.defects(cause).length === 0
    ? failures.map((f) => f instanceof Error ? `${f.name}: ${f.message}` : String(f)).join("; ")
    : Cause.pretty(cause, { renderErrorCause: true })
}

const text = (message: unknown): string =>
  Array.isArray(message) ? message.map(text).join(" ") : typeof message === "string" ? message : JSON.stringify(message)

export const layer = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ cause, date, logLevel, message }) => {
    const failure = Cause.isEmpty(cause) ? "" : `${text(message) ? " " : ""}${describe(cause)}`
    process.stdout.write(`${date.toISOString()} ${logLevel.label.padEnd(5)} ${text(message)}${failure}\n`)
  })
)
