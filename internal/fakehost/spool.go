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
// checking its length and SHA-256 on the way (memory: one copy buffer), and returns the file open
// for reading. A body that is short, long or hashes to something else leaves no file behind and
// fails with ErrSpool. The fakes use it to keep objects above their memory limit on disk.
func Spool(dir string, body io.Reader, oid string, size int64) (*os.File, error) {
	tmp, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, size))
	if err != nil || n != size {
		return nil, fmt.Errorf("%w: body ended after %d of %d bytes", ErrSpool, n, size)
	}
	var one [1]byte
	if k, _ := io.ReadFull(body, one[:]); k > 0 {
		return nil, fmt.Errorf("%w: body is longer than %d bytes", ErrSpool, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != oid {
		return nil, fmt.Errorf("%w: content sha256 %s is not the oid %s", ErrSpool, got, oid)
	}
	return keepAs(tmp, filepath.Join(dir, oid), &keep)
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

// Finish checks that the assembled file hashes to oid and keeps it under that name; on any
// failure the file is removed.
func (s *SpoolFile) Finish(oid string) (*os.File, error) {
	keep := false
	defer func() {
		if !keep {
			s.Close()
			os.Remove(s.Name())
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(s.File, 0, 1<<62)); err != nil {
		return nil, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != oid {
		return nil, fmt.Errorf("%w: assembled content hashes to %s, not %s", ErrSpool, got, oid)
	}
	return keepAs(s.File, filepath.Join(s.dir, oid), &keep)
}

// Discard removes an unfinished file.
func (s *SpoolFile) Discard() {
	s.Close()
	os.Remove(s.Name())
}

func keepAs(f *os.File, name string, keep *bool) (*os.File, error) {
	if err := os.Rename(f.Name(), name); err != nil {
		return nil, err
	}
	*keep = true
	return f, nil
}
