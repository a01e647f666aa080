/** Plain log lines for a long-running server: `<ISO time> <LEVEL> <message>`. */
import * as Logger from "effect/Logger"

const text = (message: unknown): string =>
  Array.isArray(message) ? message.map(text).join(" ") : typeof message === "string" ? message : JSON.stringify(message)

export const layer = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ date, logLevel, message }) => {
    process.stdout.write(`${date.toISOString()} ${logLevel.label.padEnd(5)} ${text(message)}\n`)
  })
)
