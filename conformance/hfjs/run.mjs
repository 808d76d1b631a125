// Conformance check: the official @huggingface/hub JavaScript client against hf2ms's fake Hub.
//
// Usage: FAKEHUB='{"endpoint":...,"token":...,"user":...}' node run.mjs
// (run.sh starts the fake and sets FAKEHUB). Exits non-zero with a message on the first mismatch.
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  whoAmI, createRepo, repoExists, uploadFiles, listFiles, downloadFile, pathsInfo, fileExists,
  modelInfo, deleteFile, commit, fileDownloadInfo,
} from "@huggingface/hub";
import { getChunks, hashToHex, xorbHash, fileHash } from "@huggingface/xetchunk-wasm";

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

// xetpeer is hf2ms's side of the Xet checks (conformance/hfjs/xetpeer, built by run.sh).
function peer(args) {
  const out = execFileSync(process.env.XETPEER, args, { maxBuffer: 1 << 30 });
  return out.toString().trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

// Text made of words drawn at random from a small vocabulary: compressible, never repeating.
function compressible(n) {
  const words = ["tensor ", "layer ", "weight ", "bias ", "attention\n", "head ", "token ", "embed "];
  const pick = randomBytes(n);
  const out = Buffer.alloc(n);
  let off = 0;
  for (let i = 0; off < n; i++) off += out.write(words[pick[i] & 7], off);
  return out;
}

const refFileHash = (buf) => hashToHex(fileHash(getChunks(buf)));

// Xet both ways: the JS client writes through Xet and hf2ms reads it natively; hf2ms writes
// through Xet and the JS client reads it natively; all byte-identical, at sizes that cross
// chunk (8 KiB minimum, 128 KiB maximum) and xorb (64 MiB) boundaries. Then the Go chunker and
// hashes are held to @huggingface/xetchunk-wasm on many inputs.
async function runXet() {
  const MiB = 1 << 20;
  const name = `${cfg.user}/conformance-xet-${Date.now()}`;
  const repo = { type: "model", name };
  await createRepo({ repo, hubUrl, credentials });
  const sizes = (prefix) => ({
    [`${prefix}/tiny.bin`]: randomBytes(10),
    [`${prefix}/exactly-8k.bin`]: randomBytes(8192),
    [`${prefix}/about-1m.bin`]: randomBytes(MiB + 123),
    [`${prefix}/over-64m-random.bin`]: randomBytes(66 * MiB + 5),
    [`${prefix}/over-64m-text.bin`]: compressible(70 * MiB),
  });
  const peerArgs = ["-endpoint", hubUrl, "-token", cfg.token, "-repo", name, "-type", "model"];

  const jsFiles = sizes("js");
  await uploadFiles({
    repo, hubUrl, credentials, useXet: true, commitTitle: "JS writes through Xet",
    files: Object.entries(jsFiles).map(([path, buf]) => ({ path, content: new Blob([buf]) })),
  });
  const listed = new Map();
  for await (const e of listFiles({ repo, hubUrl, credentials, recursive: true })) listed.set(e.path, e);
  for (const [path, buf] of Object.entries(jsFiles)) {
    check(listed.get(path)?.xetHash === refFileHash(buf), `xet: JS-written ${path} is listed with its reference Xet hash`);
  }
  for (const r of peer(["read", ...peerArgs, ...Object.keys(jsFiles)])) {
    const buf = jsFiles[r.path];
    check(r.xet && r.xetHash === listed.get(r.path)?.xetHash, `xet: hf2ms reads JS-written ${r.path} through Xet`);
    check(r.size === buf.length && r.sha256 === sha256(buf), `xet: hf2ms read of JS-written ${r.path} is byte-identical`);
  }

  const goFiles = sizes("go");
  const dir = mkdtempSync(join(tmpdir(), "xetpeer-"));
  const specs = Object.entries(goFiles).map(([path, buf], i) => {
    const f = join(dir, `f${i}`);
    writeFileSync(f, buf);
    return `${path}=${f}`;
  });
  for (const w of peer(["write", ...peerArgs, ...specs])) {
    check(w.transfer === "xet", `xet: hf2ms wrote ${w.path} with transfer ${w.transfer}`);
  }
  for (const [path, buf] of Object.entries(goFiles)) {
    const info = await fileDownloadInfo({ repo, path, hubUrl, credentials });
    check(info?.xet?.hash === refFileHash(buf), `xet: hf2ms-written ${path} has the reference Xet hash`);
    const blob = await downloadFile({ repo, path, hubUrl, credentials });
    const got = Buffer.from(await blob.arrayBuffer());
    check(got.length === buf.length && sha256(got) === sha256(buf), `xet: JS read of hf2ms-written ${path} is byte-identical`);
    if (buf.length > 64 * MiB) {
      const part = Buffer.from(await blob.slice(64 * MiB - 5000, 64 * MiB + 5000).arrayBuffer());
      check(part.equals(buf.subarray(64 * MiB - 5000, 64 * MiB + 5000)), `xet: JS ranged read across 64 MiB of ${path}`);
    }
  }

  // An edited copy: its unchanged head and tail deduplicate against the original's xorb, so its
  // reconstruction names two separate ranges of that xorb, fetched with one multi-range GET
  // (multipart/byteranges) by both readers.
  const [x, y, z, edit] = [randomBytes(2 * MiB), randomBytes(MiB), randomBytes(2 * MiB), randomBytes(MiB)];
  const base = Buffer.concat([x, y, z]);
  const edited = Buffer.concat([x, edit, z]);
  writeFileSync(join(dir, "base"), base);
  writeFileSync(join(dir, "edited"), edited);
  peer(["write", ...peerArgs, `go/multi-base.bin=${join(dir, "base")}`]);
  const [w] = peer(["write", ...peerArgs, `go/multi-edited.bin=${join(dir, "edited")}`]);
  check(w.deduplicated >= 3 * MiB, `xet: hf2ms's upload of an edited copy deduplicated ${w.deduplicated} of ${edited.length} bytes`);
  const eb = await downloadFile({ repo, path: "go/multi-edited.bin", hubUrl, credentials });
  check(sha256(Buffer.from(await eb.arrayBuffer())) === sha256(edited), "xet: JS read of the edited copy (multi-range) is byte-identical");
  const [mr] = peer(["read", ...peerArgs, "go/multi-edited.bin"]);
  check(mr.xet && mr.sha256 === sha256(edited), "xet: hf2ms read of the edited copy (multi-range) is byte-identical");

  // The Go chunker and hashes against the reference, on many sizes and two kinds of data.
  const inputs = [];
  for (let i = 0; i < 24; i++) {
    const n = [1, 63, 8127, 8128, 8129, 65536, 131071, 131072, 131073][i] ?? Math.floor(Math.random() * 3 * MiB);
    inputs.push(i % 2 ? compressible(n) : randomBytes(n));
  }
  const files = inputs.map((buf, i) => {
    const f = join(dir, `h${i}`);
    writeFileSync(f, buf);
    return f;
  });
  const hashed = peer(["hash", ...files]);
  let agree = 0;
  hashed.forEach((h, i) => {
    const ref = getChunks(inputs[i]);
    const same = h.chunks.length === ref.length && ref.every((c, j) => h.chunks[j][0] === hashToHex(c.hash) && h.chunks[j][1] === c.length) &&
      h.xorbHash === hashToHex(xorbHash(ref)) && h.fileHash === hashToHex(fileHash(ref));
    if (same) agree++;
    else console.error(`chunker mismatch on input ${i} (${inputs[i].length} bytes)`);
  });
  check(agree === inputs.length, `xet: Go chunks and hashes equal xetchunk-wasm's on ${agree}/${inputs.length} inputs`);
  rmSync(dir, { recursive: true, force: true });
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
  await runXet();
} catch (err) {
  failures++;
  console.error("FAIL: unexpected error:", err?.stack ?? err);
}
console.log(`${checks - failures} passed, ${failures} failed`);
process.exit(failures === 0 && checks > 0 ? 0 : 1);
