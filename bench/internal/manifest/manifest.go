// Package manifest reads the JSON manifest bench/fakehubs writes, shared by the benchmark
// programs. It imports only the standard library.
package manifest

import (
	"encoding/json"
	"fmt"
	"os"
)

// File is one file of the seeded repo, with the URL a plain GET downloads it from.
type File struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	URL  string `json:"url"`
}

// Manifest describes the running fakes and the seeded source repo.
type Manifest struct {
	HFEndpoint string `json:"hf_endpoint"`
	HFToken    string `json:"hf_token"`
	MSEndpoint string `json:"ms_endpoint"`
	MSToken    string `json:"ms_token"`
	// Sink receives PUT /<anything> with a Content-Length, hashes the body and discards it.
	Sink string `json:"sink"`
	// Source is the seeded repo as hf2ms names it ("hf:bench/large" or "ms:bench/large").
	Source string `json:"source"`
	// SrcToken is the token the raw copy sends to the source hub.
	SrcToken string `json:"src_token"`
	Files    []File `json:"files"`
	Bytes    int64  `json:"bytes"`
}

// Read loads the manifest at path.
func Read(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", path, err)
	}
	return &m, nil
}
