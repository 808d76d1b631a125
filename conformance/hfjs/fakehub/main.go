// Command fakehub runs the fake Hugging Face Hub (pkg/hub/hubtest) as a process, so that other
// clients (the official JavaScript client in conformance/hfjs) can be checked against it.
//
// It seeds one user with a write token, prints one JSON line
// {"endpoint": ..., "cdn": ..., "token": ..., "user": ...} on stdout, and serves until its
// standard input closes or it receives SIGTERM or SIGINT. At exit it reports on stderr any
// request that leaked credentials to the storage host, and exits 3 if there was one.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
)

func main() {
	user := flag.String("user", "conformance", "user to seed")
	org := flag.String("org", "conformance-org", "organisation the user belongs to")
	token := flag.String("token", "hf_conformance_write_token", "write token to seed")
	threshold := flag.Int64("multipart-threshold", 5<<20, "LFS objects of this size or more use multipart")
	chunk := flag.Int64("chunk-size", 5<<20, "multipart chunk size")
	pageSize := flag.Int("page-size", 2, "tree listing page size (small, to exercise paging)")
	memLimit := flag.Int64("memory-limit", 256<<20, "largest LFS object held in memory")
	useXet := flag.Bool("xet", true, "serve Xet (token routes, batch transfer xet, a fake CAS)")
	flag.Parse()

	opts := []hubtest.Option{
		hubtest.WithMultipartThreshold(*threshold),
		hubtest.WithChunkSize(*chunk),
		hubtest.WithTreePageSize(*pageSize),
		hubtest.WithMemoryLimit(*memLimit),
	}
	if *useXet {
		opts = append(opts, hubtest.WithXet())
	}
	s := hubtest.NewServer(opts...)
	s.AddUser(*user, *org)
	s.AddToken(*token, *user, hubtest.RoleWrite)

	line, err := json.Marshal(map[string]string{"endpoint": s.URL(), "cdn": s.CDNURL(), "token": *token, "user": *user})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakehub:", err)
		os.Exit(1)
	}
	fmt.Println(string(line))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-ctx.Done()
	leaks := s.AuthLeaks()
	if cas := s.XetCAS(); cas != nil {
		leaks = append(leaks, cas.Leaks()...)
		fmt.Fprintf(os.Stderr, "fakehub: xet: %d v2 and %d v1 reconstructions, %d multi-range fetches, %d xorbs (%d bytes), %d shards\n",
			cas.Count("reconstruction-v2"), cas.Count("reconstruction-v1"), cas.Count("multirange"),
			cas.Count("xorb"), cas.ReceivedXorbBytes(), cas.Count("shard"))
	}
	fmt.Fprintf(os.Stderr, "fakehub: route counters: %s\n", s.Faults())
	s.Close()
	if len(leaks) > 0 {
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "fakehub: credentials sent to the storage host:", l)
		}
		os.Exit(3)
	}
}
