// Prints reference chunk boundaries and hashes computed by @huggingface/xetchunk-wasm (the
// chunker and hashes of the official JS client, which match xet-core) for deterministic inputs.
// pkg/xet/testdata/xetchunk-vectors.json is this script's output; pkg/xet's tests hold the Go
// chunker and hashes to it. Regenerate: node conformance/hfjs/vectors.mjs > pkg/xet/testdata/xetchunk-vectors.json
import { getChunks, hashToHex, xorbHash, fileHash, verificationHash } from "@huggingface/xetchunk-wasm";

// splitmix64, written as little-endian u64 words: the same generator as pkg/xet's tests.
export function pseudoRandom(seed, n) {
	const out = new Uint8Array(n);
	let s = BigInt.asUintN(64, BigInt(seed));
	for (let i = 0; i < n; i += 8) {
		s = BigInt.asUintN(64, s + 0x9e3779b97f4a7c15n);
		let z = s;
		z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
		z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
		z = z ^ (z >> 31n);
		for (let j = 0; j < 8 && i + j < n; j++) {
			out[i + j] = Number((z >> BigInt(8 * j)) & 0xffn);
		}
	}
	return out;
}

// A compressible, text-like input: repeated lines with a counter.
export function textLike(n) {
	const out = new Uint8Array(n);
	let line = "";
	let k = 0;
	for (let i = 0; i < n; i++) {
		if (line.length === 0) {
			line = `row ${k++},value ${(k * 7919) % 10007},label ${k % 13}\n`;
		}
		out[i] = line.charCodeAt(0);
		line = line.slice(1);
	}
	return out;
}

const cases = [
	["random", 1, 1],
	["random", 2, 100],
	["random", 3, 8191],
	["random", 4, 8192],
	["random", 5, 8193],
	["random", 6, 131072],
	["random", 7, 200000],
	["random", 8, 1 << 20],
	["random", 9, 3 * (1 << 20) + 12345],
	["text", 0, 1 << 20],
	["zeros", 0, 300000],
];

const out = [];
for (const [kind, seed, size] of cases) {
	const data = kind === "random" ? pseudoRandom(seed, size) : kind === "text" ? textLike(size) : new Uint8Array(size);
	const chunks = getChunks(data);
	out.push({
		kind,
		seed,
		size,
		chunks: chunks.map((c) => [hashToHex(c.hash), c.length]),
		xorbHash: hashToHex(xorbHash(chunks)),
		fileHash: hashToHex(fileHash(chunks)),
		verificationHash: hashToHex(verificationHash(chunks.map((c) => c.hash))),
	});
}
console.log(JSON.stringify(out, null, 1));
