import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { encodeRecord, checkRecord } from "../layers/internal/sessionStore.js"
import * as SessionStore from "../services/SessionStore.js"
import * as RunRecord from "../src/RunRecord.js"

// The stores write records with a direct encoder (the schema's walk costs more than the rest of a
// turn); it must give the schema's own text, and refuse what the schema refuses.
const bySchema = Schema.encodeEither(Schema.parseJson(RunRecord.RunRecord))

const same = (record: SessionStore.RunRecord) => {
  const fast = encodeRecord(record)
  const schema = bySchema(record)
  assert.strictEqual(Either.isRight(fast), Either.isRight(schema), "stored by one and refused by the other")
  if (Either.isRight(fast) && Either.isRight(schema)) assert.strictEqual(fast.right, schema.right)
  assert.strictEqual(checkRecord(record) === undefined, Either.isRight(schema))
}

const records = Arbitrary.make(RunRecord.RunRecord)

// Records of a few messages and parts each: generated records are otherwise large, and slow to
// check by the hundred.
FastCheck.configureGlobal({ ...FastCheck.readConfigureGlobal(), baseSize: "xsmall" })

describe("run records", () => {
  it("are written as the schema writes them, for any record", () => {
    FastCheck.assert(FastCheck.property(records, (record) => {
      same(record)
    }), { numRuns: 150 })
  })

  it("are refused as the schema refuses them", () => {
    const broken = records.chain((record) =>
      FastCheck.constantFrom<(r: any) => any>(
        (r) => ({ ...r, userId: "" }),
        (r) => ({ ...r, status: "lost" }),
        (r) => ({ ...r, messages: [{ role: "user", content: 42 }] }),
        (r) => ({ ...r, toolCalls: [{ id: 1 }] }),
        (r) => ({ ...r, startedAt: "yesterday" }),
        (r) => ({ ...r, input: [{ role: "user", content: [{ type: "text", text: 1n }] }] })
      ).map((breakIt) => breakIt(record) as SessionStore.RunRecord)
    )
    FastCheck.assert(FastCheck.property(broken, (record) => {
      same(record)
      assert.isTrue(Either.isLeft(encodeRecord(record)))
    }), { numRuns: 100 })
  })
})
