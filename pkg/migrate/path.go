package migrate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Listing limits: a hostile or broken listing beyond them is refused before anything is written.
const (
	// MaxPathLength is the longest repository path accepted, in bytes.
	MaxPathLength = 1024
	// MaxPathDepth is the most path segments accepted.
	MaxPathDepth = 64
	// MaxFileSize is the largest file size a listing may claim (1 TiB; both hubs cap far lower).
	MaxFileSize int64 = 1 << 40
)

// ValidatePath reports whether p is a safe repository path: relative, slash-separated, no empty,
// "." or ".." segments, no backslash, NUL or other control characters, nothing under .git/, and
// within MaxPathLength and MaxPathDepth. The error wraps ErrUnsafePath and names the path.
func ValidatePath(p string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %q: %s", ErrUnsafePath, p, why) }
	switch {
	case p == "":
		return bad("empty path")
	case len(p) > MaxPathLength:
		return bad(fmt.Sprintf("longer than %d bytes", MaxPathLength))
	case strings.HasPrefix(p, "/"):
		return bad("absolute path")
	case strings.ContainsRune(p, '\\'):
		return bad("backslash")
	case len(p) >= 2 && p[1] == ':' && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z'):
		return bad("drive letter")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return bad("control character (NUL, newline, ...)")
		}
	}
	segs := strings.Split(p, "/")
	if len(segs) > MaxPathDepth {
		return bad(fmt.Sprintf("deeper than %d levels", MaxPathDepth))
	}
	for _, s := range segs {
		switch s {
		case "":
			return bad("empty segment")
		case ".", "..":
			return bad("dot segment")
		}
		if strings.EqualFold(s, ".git") {
			return bad("inside .git")
		}
	}
	return nil
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckListing refuses a listing that is unsafe or inconsistent: unsafe paths, duplicates
// (including paths differing only in case), impossible sizes, malformed hashes, and LFS files
// without a SHA-256. It normalises hashes to lower case in place.
func CheckListing(hub HubName, repo Repo, files []File) error {
	// The listing came from the hub's server: say so, so the user does not hunt for a local path.
	malformed := func(format string, args ...any) error {
		return fmt.Errorf("%s sent a malformed listing of %s: "+format, append([]any{hub, repo}, args...)...)
	}
	seen := make(map[string]string, len(files))
	for i := range files {
		f := &files[i]
		if err := ValidatePath(f.Path); err != nil {
			return malformed("entry %d: %w", i+1, err)
		}
		if f.Size < 0 || f.Size > MaxFileSize {
			return malformed("%w: %q claims %d bytes", ErrUnsafePath, f.Path, f.Size)
		}
		f.SHA256 = strings.ToLower(f.SHA256)
		f.GitOID = strings.ToLower(f.GitOID)
		if f.SHA256 != "" && !hexSHA256.MatchString(f.SHA256) {
			return malformed("%w: %q has a malformed sha256 %q", hubkit.ErrInvalid, f.Path, f.SHA256)
		}
		if f.LFS && f.SHA256 == "" {
			return malformed("%w: LFS file %q has no sha256", hubkit.ErrInvalid, f.Path)
		}
		key := strings.ToLower(f.Path)
		if prev, dup := seen[key]; dup {
			return malformed("%w: %q and %q collide (duplicate or differ only in case)", ErrUnsafePath, prev, f.Path)
		}
		seen[key] = f.Path
	}
	return nil
}
