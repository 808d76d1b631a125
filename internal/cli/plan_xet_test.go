package cli

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
)

// TestPlanSaysXetOrLFS checks that `plan` says per LFS file whether it is read from Hugging Face
// through Xet or LFS, and that writes to Hugging Face go through Xet when the Hub offers it.
func TestPlanSaysXetOrLFS(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		opts []testworld.Option
		read string
	}{
		{"xet", []testworld.Option{testworld.WithHF(hubtest.WithXet())}, "xet"},
		{"no xet", nil, "lfs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, c.opts...)
			w.seedHF(t, "alice/model", 2)
			res := run{env: w.env()}.exec(t, "plan", "hf:alice/model", "--to", "ms")
			require.Equal(t, ExitOK, res.code, res)
			require.Regexp(t, `weights/part-000\.bin  \(read: `+c.read+`\)`, res.stdout)
			require.Regexp(t, `README\.md\s*\n`, res.stdout, "inline files carry no route")
			want := map[string]string{"xet": "2 through Xet, 0 through LFS", "lfs": "0 through Xet, 2 through LFS"}[c.read]
			require.Contains(t, res.stdout, "reads from Hugging Face: "+want)

			w.seedMS(t, "alice/other", 1)
			res = run{env: w.env()}.exec(t, "plan", "ms:alice/other", "--to", "hf")
			require.Equal(t, ExitOK, res.code, res)
			require.Regexp(t, `model-0\.safetensors  \(write: xet if the Hub offers it\)`, res.stdout)
			require.Contains(t, res.stdout, "writes to Hugging Face: through Xet if the Hub offers it")
		})
	}
}
