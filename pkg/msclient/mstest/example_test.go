package mstest_test

import (
	"fmt"
	"net/http"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// A test seeds the fake directly, points its client at URL() and inspects the result.
func ExampleNewServer() {
	s := mstest.NewServer(mstest.WithRedirectThreshold(1 << 10))
	defer s.Close()
	s.AddUser("alice", "acme")
	s.AddToken("ms-token", "alice", mstest.RoleWrite)
	if err := s.CreateRepo(hubkit.Model, "acme/demo", mstest.RepoOptions{}); err != nil {
		panic(err)
	}
	blob := synth.Blob{Size: 4 << 10, Seed: 1}
	if _, err := s.Commit(hubkit.Model, "acme/demo", "", "seed",
		mstest.File{Path: "README.md", Content: []byte("# demo\n")},
		mstest.File{Path: "model.bin", Blob: &blob}); err != nil {
		panic(err)
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.URL() + "/api/v1/models/acme/demo/repo?Revision=master&FilePath=model.bin")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, len(resp.Header.Get("Location")) > len(s.CDNURL()))

	files, _ := s.Files(hubkit.Model, "acme/demo", "master")
	for _, f := range files {
		fmt.Println(f.Path, f.Size, f.LFS)
	}
	// Output:
	// 302 true
	// README.md 7 false
	// model.bin 4096 true
}
