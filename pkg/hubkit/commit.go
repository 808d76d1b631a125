package hubkit

import "fmt"

// OpKind is the kind of one commit operation.
type OpKind int

// Commit operation kinds.
const (
	// OpAddFile writes a regular file whose bytes travel inline in the commit.
	OpAddFile OpKind = iota + 1
	// OpAddLFS writes an LFS pointer to a blob the hub already stores.
	OpAddLFS
	// OpDelete removes a path.
	OpDelete
)

// String names the kind.
func (k OpKind) String() string {
	switch k {
	case OpAddFile:
		return "add-file"
	case OpAddLFS:
		return "add-lfs"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// CommitOp is one operation of a commit.
type CommitOp struct {
	Kind OpKind
	Path string
	// Content is the file's bytes (OpAddFile).
	Content []byte
	// SHA256 is the LFS object's lower-case hex SHA-256 (OpAddLFS).
	SHA256 string
	// Size is the file's size (OpAddFile, OpAddLFS).
	Size int64
}
