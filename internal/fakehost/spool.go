package fakehost

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrSpool is a spooled object that did not arrive whole or does not hash to its oid.
var ErrSpool = errors.New("object does not match")

// Spool streams one uploaded object of size bytes into a file named after its oid in dir,
// checking its length and SHA-256 on the way (memory: one copy buffer), and returns it as
// Content read from that file. A body that is short, long or hashes to something else leaves no
// file behind and fails with ErrSpool. The fakes use it to keep objects above their memory limit
// on disk.
func Spool(dir string, body io.Reader, oid string, size int64) (Content, error) {
	tmp, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return Content{}, err
	}
	return settle(tmp, dir, oid, func() (int64, error) {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, size))
		if err != nil || n != size {
			return 0, fmt.Errorf("%w: body ended after %d of %d bytes", ErrSpool, n, size)
		}
		var one [1]byte
		if k, _ := io.ReadFull(body, one[:]); k > 0 {
			return 0, fmt.Errorf("%w: body is longer than %d bytes", ErrSpool, size)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != oid {
			return 0, fmt.Errorf("%w: content sha256 %s is not the oid %s", ErrSpool, got, oid)
		}
		return n, nil
	})
}

// SpoolFile is a disk file an object is assembled in from parts (multipart uploads).
type SpoolFile struct {
	*os.File
	dir string
}

// NewSpoolFile starts assembling an object in dir.
func NewSpoolFile(dir string) (*SpoolFile, error) {
	f, err := os.CreateTemp(dir, "parts-*")
	if err != nil {
		return nil, err
	}
	return &SpoolFile{File: f, dir: dir}, nil
}

// Finish checks that the assembled file hashes to oid and keeps it under that name, returning
// it as Content; on any failure the file is removed.
func (s *SpoolFile) Finish(oid string) (Content, error) {
	return settle(s.File, s.dir, oid, func() (int64, error) {
		h := sha256.New()
		n, err := io.Copy(h, io.NewSectionReader(s.File, 0, 1<<62))
		if err != nil {
			return 0, err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != oid {
			return 0, fmt.Errorf("%w: assembled content hashes to %s, not %s", ErrSpool, got, oid)
		}
		return n, nil
	})
}

// Discard removes an unfinished file.
func (s *SpoolFile) Discard() {
	s.Close()
	os.Remove(s.Name())
}

// settle runs check, which fills or reads f (a temporary file in dir) and returns its length,
// then keeps f under the name oid in dir. When check or the rename fails, f is closed and
// removed.
func settle(f *os.File, dir, oid string, check func() (int64, error)) (Content, error) {
	n, err := check()
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, oid))
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return Content{}, err
	}
	return Content{file: f, fileSize: n}, nil
}
