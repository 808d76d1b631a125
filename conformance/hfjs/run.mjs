// Conformance check: the official @huggingface/hub JavaScript client against hf2ms's fake Hub.
//
// Usage: FAKEHUB='{"endpoint":...,"token":...,"user":...}' node run.mjs
// (run.sh starts the fake and sets FAKEHUB). Exits non-zero with a message on the first mismatch.
import { createHash, randomBytes } from "node:crypto";
import {
  whoAmI, createRepo, repoExists, uploadFiles, listFiles, downloadFile, pathsInfo, fileExists,
  modelInfo, deleteFile, commit,
} from "@huggingface/hub";

const cfg = JSON.parse(process.env.FAKEHUB ?? "null");
if (!cfg?.endpoint || !cfg?.token || !cfg?.user) {
  console.error("run.mjs: FAKEHUB must hold the fake hub's JSON line {endpoint, token, user}");
  process.exit(2);
}
const hubUrl = cfg.endpoint;
const credentials = { accessToken: cfg.token };
let checks = 0;
let failures = 0;

function check(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    console.error(`FAIL: ${what}`);
  } else {
    console.log(`ok: ${what}`);
  }
}

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

async function runRepo(type) {
  const name = `${cfg.user}/conformance-${type}-${Date.now()}`;
  const repo = { type, name };
  const MiB = 1 << 20;
  const files = {
    "README.md": Buffer.from(`# ${name}\n\nUploaded by the official JS client.\n`),
    "config/params.json": Buffer.from(JSON.stringify({ hidden: 64, layers: 2 })),
    "weights/model.bin": randomBytes(1 * MiB), // LFS by .gitattributes and NUL bytes
    "weights/shard-00001.safetensors": randomBytes(12 * MiB), // multipart (threshold 5 MiB)
  };

  const created = await createRepo({ repo, hubUrl, credentials });
  check(created.repoUrl === `${hubUrl}/${type === "model" ? "" : type + "s/"}${name}`, `${type}: createRepo url ${created.repoUrl}`);
  check(await repoExists({ repo, hubUrl, accessToken: cfg.token }), `${type}: repoExists`);

  let dup = null;
  try {
    await createRepo({ repo, hubUrl, credentials });
  } catch (err) {
    dup = err;
  }
  check(dup?.statusCode === 409, `${type}: creating it again is a 409 (${dup?.statusCode})`);

  const res = await uploadFiles({
    repo, hubUrl, credentials,
    files: Object.entries(files).map(([path, buf]) => ({ path, content: new Blob([buf]) })),
    commitTitle: "conformance upload",
  });
  check(/^[0-9a-f]{40}$/.test(res?.commit?.oid ?? ""), `${type}: commit oid ${res?.commit?.oid}`);

  const listed = new Map();
  for await (const entry of listFiles({ repo, hubUrl, credentials, recursive: true })) {
    listed.set(entry.path, entry);
  }
  check(listed.has(".gitattributes"), `${type}: listing has .gitattributes`);
  check(listed.get("weights")?.type === "directory", `${type}: listing has directory weights`);
  for (const [path, buf] of Object.entries(files)) {
    const e = listed.get(path);
    check(e?.type === "file" && e.size === buf.length, `${type}: listed ${path} size ${e?.size} == ${buf.length}`);
    const isLFS = path.startsWith("weights/");
    check(isLFS ? e?.lfs?.oid === sha256(buf) : !e?.lfs, `${type}: ${path} lfs=${!!e?.lfs} as expected (${isLFS})`);
  }

  const info = await pathsInfo({ repo, hubUrl, credentials, paths: ["weights/model.bin", "missing.txt"] });
  check(info.length === 1 && info[0].lfs?.oid === sha256(files["weights/model.bin"]), `${type}: pathsInfo`);

  for (const [path, buf] of Object.entries(files)) {
    const blob = await downloadFile({ repo, path, hubUrl, credentials });
    const got = Buffer.from(await blob.arrayBuffer());
    check(got.length === buf.length && sha256(got) === sha256(buf), `${type}: downloadFile ${path} sha256 matches`);
    // A ranged read (the client's WebBlob.slice) must return the same bytes.
    const part = Buffer.from(await blob.slice(3, 19).arrayBuffer());
    check(part.equals(buf.subarray(3, 19)), `${type}: ranged read of ${path}`);
  }
  check(await fileExists({ repo, path: "weights/model.bin", hubUrl, credentials }), `${type}: fileExists`);
  check(!(await fileExists({ repo, path: "nope.bin", hubUrl, credentials })), `${type}: fileExists on a missing file`);
  check((await downloadFile({ repo, path: "nope.bin", hubUrl, credentials })) === null, `${type}: downloadFile on a missing file is null`);

  if (type === "model") {
    const mi = await modelInfo({ name, hubUrl, credentials, additionalFields: ["sha"] });
    check(mi.sha === res.commit.oid, `model: modelInfo sha ${mi.sha}`);
  }

  // Re-uploading identical content: the batch answer has no actions, the commit still works.
  const again = await uploadFiles({
    repo, hubUrl, credentials, useXet: false,
    files: [{ path: "weights/copy.bin", content: new Blob([files["weights/model.bin"]]) }],
  });
  check(/^[0-9a-f]{40}$/.test(again?.commit?.oid ?? ""), `${type}: commit of an already stored LFS object`);

  await deleteFile({ repo, path: "config/params.json", hubUrl, credentials });
  const after = [];
  for await (const entry of listFiles({ repo, hubUrl, credentials, recursive: true })) after.push(entry.path);
  check(!after.includes("config/params.json") && !after.includes("config"), `${type}: deleteFile removed the file and its folder`);

  let stale = null;
  try {
    await commit({
      repo, hubUrl, credentials, title: "stale parent", parentCommit: res.commit.oid,
      operations: [{ operation: "addOrUpdate", path: "x.txt", content: new Blob(["x"]) }],
    });
  } catch (err) {
    stale = err;
  }
  check(stale?.statusCode === 412, `${type}: a commit on a stale parentCommit is a 412 (${stale?.statusCode})`);
}

try {
  const me = await whoAmI({ hubUrl, credentials });
  check(me.name === cfg.user && me.type === "user", `whoAmI name ${me.name}`);
  check(me.auth?.accessToken?.role === "write", `whoAmI role ${me.auth?.accessToken?.role}`);
  let bad = null;
  try {
    await whoAmI({ hubUrl, credentials: { accessToken: "hf_not_a_valid_token" } });
  } catch (err) {
    bad = err;
  }
  check(bad?.statusCode === 401, `whoAmI with an invalid token is a 401 (${bad?.statusCode})`);
  await runRepo("model");
  await runRepo("dataset");
} catch (err) {
  failures++;
  console.error("FAIL: unexpected error:", err?.stack ?? err);
}
console.log(`${checks - failures} passed, ${failures} failed`);
process.exit(failures === 0 && checks > 0 ? 0 : 1);
