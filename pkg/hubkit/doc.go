// Package hubkit is the vocabulary shared by hf2ms's hub clients (pkg/hub for Hugging Face,
// pkg/msclient for ModelScope), its engine (pkg/migrate) and the fakes: the error kinds every
// client's errors match with errors.Is, the ranged Source an upload reads from, repository types,
// commit operations, and the two content hashes hubs list (SHA-256 and the git blob id).
//
// It plays the part io/fs plays for file systems (fs.ErrNotExist means the same whichever file
// system returned it) and the shared smithy-go types play for the AWS SDK's service clients: each
// client stays a complete Go client of its own hub, and code that handles both hubs alike, like
// the engine, branches on one set of names.
//
// hubkit imports only the standard library; everything else in the module may import it.
package hubkit
