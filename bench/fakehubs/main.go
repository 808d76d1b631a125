// Command fakehubs serves the benchmark fixtures for bench/run.sh: a fake Hugging Face Hub and a
// fake ModelScope (the same fakes the tests use), one source repo seeded with synthetic content
// for one benchmark case, and a "sink" server that receives the raw copy's PUTs.
//
// It runs in its own process so that the process being measured (hf2ms, rawcopy, diskcopy) is
// charged only for its own memory and disk writes. It writes a JSON manifest (endpoints, tokens,
// the repo and its files) to -out, prints the endpoints as KEY=VALUE lines and "ready" on stdout,
// and serves until stdin closes. The tokens are the constants below (bench/run.sh exports them).
//
// With -wan NAME every host (API and storage, of both fakes) is served through a modelled
// wide-area link (internal/wan), still on loopback.
//
// Large files are synthetic (internal/synth): generated on the fly when downloaded, and
// recognised by hash when uploaded, so the fakes hold no file bytes and write nothing to disk.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/linaqruf/hf2ms/bench/internal/manifest"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/internal/wan"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// Benchmark identities, valid only on these fakes.
const (
	user    = "bench"
	hfToken = "hf_bench_token_for_the_fake_hub_only"
	msToken = "ms-bench-token-for-the-fake-hub-only"
)

func main() {
	caseName := flag.String("case", "large", "large (one file), multi (many big files), small (many small regular files) or plan (many tiny files)")
	src := flag.String("src", "hf", "hub holding the seeded source repo: hf or ms")
	size := flag.Int64("size", 8<<30, "bytes per big file (large, multi)")
	count := flag.Int("count", 1, "number of files")
	smallSize := flag.Int("small-size", 4096, "bytes per small file (small, plan)")
	seed := flag.Uint64("seed", 1, "seed of the synthetic content (change it to defeat deduplication)")
	out := flag.String("out", "", "write the JSON manifest here")
	link := flag.String("wan", "", "serve every host through this WAN profile (internal/wan: "+strings.Join(wan.Names(), ", ")+")")
	flag.Parse()
	if *out == "" {
		log.Fatal("fakehubs: -out is required")
	}
	var hfOpts []hubtest.Option
	var msOpts []mstest.Option
	if *link != "" {
		p, err := wan.Lookup(*link)
		if err != nil {
			log.Fatalf("fakehubs: %v", err)
		}
		hfOpts, msOpts = append(hfOpts, hubtest.WithWAN(p)), append(msOpts, mstest.WithWAN(p))
	}

	hf := hubtest.NewServer(hfOpts...)
	defer hf.Close()
	hf.AddUser(user)
	hf.AddToken(hfToken, user, hubtest.RoleWrite)
	ms := mstest.NewServer(msOpts...)
	defer ms.Close()
	ms.AddUser(user)
	ms.AddToken(msToken, user, mstest.RoleWrite)

	sinkLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("fakehubs: sink: %v", err)
	}
	go func() { _ = http.Serve(sinkLn, http.HandlerFunc(sink)) }()

	id := user + "/" + *caseName
	m := manifest.Manifest{HFEndpoint: hf.URL(), HFToken: hfToken, MSEndpoint: ms.URL(), MSToken: msToken,
		Sink: "http://" + sinkLn.Addr().String()}
	hfFiles, msFiles, err := seedFiles(&m, *caseName, *count, *size, *smallSize, *seed)
	if err != nil {
		log.Fatalf("fakehubs: %v", err)
	}
	switch *src {
	case "hf":
		if err := hf.CreateRepo(hubkit.Model, id, hubtest.RepoOptions{}); err != nil {
			log.Fatalf("fakehubs: %v", err)
		}
		if _, err := hf.Commit(hubkit.Model, id, "main", "Seed "+*caseName, hfFiles...); err != nil {
			log.Fatalf("fakehubs: seeding: %v", err)
		}
		m.Source, m.SrcToken = "hf:"+id, hfToken
		for i := range m.Files {
			m.Files[i].URL = hf.URL() + "/" + id + "/resolve/main/" + m.Files[i].Path
		}
	case "ms":
		if err := ms.CreateRepo(hubkit.Model, id, mstest.RepoOptions{}); err != nil {
			log.Fatalf("fakehubs: %v", err)
		}
		if _, err := ms.Commit(hubkit.Model, id, mstest.DefaultBranch, "Seed "+*caseName, msFiles...); err != nil {
			log.Fatalf("fakehubs: seeding: %v", err)
		}
		m.Source, m.SrcToken = "ms:"+id, msToken
		for i := range m.Files {
			q := url.Values{"Revision": {mstest.DefaultBranch}, "FilePath": {m.Files[i].Path}}
			m.Files[i].URL = ms.URL() + "/api/v1/models/" + id + "/repo?" + q.Encode()
		}
	default:
		log.Fatalf("fakehubs: -src must be hf or ms, not %q", *src)
	}
	hfFiles, msFiles = nil, nil

	b, err := json.Marshal(m)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, b, 0o600); err != nil {
		log.Fatalf("fakehubs: %v", err)
	}
	// The shell script reads these (tokens are the fakes' own, valid nowhere else).
	fmt.Printf("HF_ENDPOINT=%s\nMODELSCOPE_ENDPOINT=%s\nSOURCE=%s\nBYTES=%d\nFILES=%d\nready\n",
		m.HFEndpoint, m.MSEndpoint, m.Source, m.Bytes, len(m.Files))
	_, _ = io.Copy(io.Discard, os.Stdin) // serve until stdin closes
}

// seedFiles makes the case's count files (synthetic big ones for large and multi, generated small
// ones for small and plan), records them in m, and returns them for each fake to seed.
func seedFiles(m *manifest.Manifest, caseName string, count int, size int64, smallSize int, seed uint64) ([]hubtest.File, []mstest.File, error) {
	var hfFiles []hubtest.File
	var msFiles []mstest.File
	for i := 0; i < count; i++ {
		var f manifest.File
		switch caseName {
		case "large", "multi":
			b := synth.Blob{Size: size, Seed: seed*1_000_003 + uint64(i)}
			b.SHA256() // register, so the destination fake stores uploads of it by reference
			f = manifest.File{Path: fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, count), Size: b.Size}
			hfFiles = append(hfFiles, hubtest.File{Path: f.Path, Blob: &b})
			msFiles = append(msFiles, mstest.File{Path: f.Path, Blob: &b})
		case "small", "plan":
			content := smallContent(seed, i, smallSize)
			f = manifest.File{Path: fmt.Sprintf("data/%03d/part-%06d.json", i/1000, i), Size: int64(len(content))}
			hfFiles = append(hfFiles, hubtest.File{Path: f.Path, Content: content})
			msFiles = append(msFiles, mstest.File{Path: f.Path, Content: content})
		default:
			return nil, nil, fmt.Errorf("unknown case %q", caseName)
		}
		m.Files = append(m.Files, f)
		m.Bytes += f.Size
	}
	return hfFiles, msFiles, nil
}

// smallContent is n bytes of JSON-like text, different for every file and seed.
func smallContent(seed uint64, i, n int) []byte {
	b := make([]byte, 0, n)
	b = append(b, `{"seed":`...)
	b = strconv.AppendUint(b, seed, 10)
	b = append(b, `,"file":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"rows":[`...)
	for j := 0; len(b) < n-2; j++ {
		b = strconv.AppendInt(b, int64((i*7919+j*104729)%1000003), 10)
		b = append(b, ',')
	}
	b = b[:n-2]
	return append(b, "]}"...)
}

// sink receives the raw copy's PUTs. It hashes the body with SHA-256, as both fakes do with every
// upload they verify, so the raw figure pays the same receiving cost as a real upload.
func sink(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil || (r.ContentLength >= 0 && n != r.ContentLength) {
		http.Error(w, "short body", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}
