/** The export formats by name: the single list the CLI, the stage params and the README table come from. */
import type { Format, FormatName } from "./Format.js"
import { format as keras } from "./KerasExport.js"
import { format as onnx } from "./OnnxExport.js"
import { format as safetensors } from "./SafetensorsExport.js"
import { format as tfjs } from "./TfjsExport.js"

export const formats: Readonly<Record<FormatName, Format>> = { tfjs, safetensors, keras, onnx }

export const names = Object.keys(formats) as ReadonlyArray<FormatName>
