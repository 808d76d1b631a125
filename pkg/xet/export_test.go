package xet

// PseudoRandom lends the external tests (package xet_test) the internal tests' generator, so
// both make the same bytes as conformance/hfjs/vectors.mjs.
var PseudoRandom = pseudoRandom
