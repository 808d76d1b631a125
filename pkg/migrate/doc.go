// Package migrate is the hf2ms engine: it moves a repository from one hub to another (Hugging
// Face and ModelScope, in any direction) by streaming every file from the source's download into
// the destination's upload, so the machine running it never holds the files.
//
// A Migrator plans (pins the source revision, lists both sides, decides per file whether to copy,
// skip or delete), checks and creates the destination, uploads LFS blobs (in shards that
// Executors may run elsewhere), then writes everything in one commit step ("blobs first, commit
// last") and verifies the destination against the source. Hubs are consumed through the small
// Hub interface; adapters for pkg/hub and pkg/msclient are provided.
package migrate
