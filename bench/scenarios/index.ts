import { coldImport } from "./coldImport.js"
import * as Http from "./http.js"
import * as InProcess from "./inprocess.js"
import type { Scenario } from "./types.js"

export const all: ReadonlyArray<Scenario> = [...InProcess.scenarios, coldImport, ...Http.scenarios]
