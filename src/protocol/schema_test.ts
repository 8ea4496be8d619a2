import assert from "node:assert/strict";
import { FetchApi } from "./messages/fetch.ts";
import { OffsetCommitApi } from "./messages/offset_commit.ts";
import { OffsetFetchApi } from "./messages/offset_fetch.ts";
import { ProduceApi } from "./messages/produce.ts";
import { fieldSince } from "./schema.ts";

Deno.test("fieldSince() reads when topics are named by id from the declarations", () => {
  assert.equal(fieldSince(ProduceApi.request, ["topicData", "topicId"]), 13);
  assert.equal(fieldSince(FetchApi.request, ["topics", "topicId"]), 13);
  // The group client uses one constant for both: they must agree.
  assert.equal(fieldSince(OffsetCommitApi.request, ["topics", "topicId"]), 10);
  assert.equal(fieldSince(OffsetFetchApi.request, ["groups", "topics", "topicId"]), 10);
});

Deno.test("fieldSince() throws on a path that names no field", () => {
  assert.throws(
    () => fieldSince(ProduceApi.request, ["topicData", "nope"]),
    /no field topicData\.nope/,
  );
});
