package modaltest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadDockerfile(t *testing.T) {
	cases := []struct {
		name, text string
		want       ImageConfig
	}{
		{name: "exec form, last stage", text: "FROM golang AS build\nENTRYPOINT [\"/go/bin/x\"]\nFROM alpine\n# a comment\nENTRYPOINT [\"/usr/local/bin/a\", \"-v\"]\nCMD [\"run\"]\n",
			want: ImageConfig{Entrypoint: []string{"/usr/local/bin/a", "-v"}, Cmd: []string{"run"}}},
		{name: "shell form and continuation", text: "FROM alpine\nCMD echo \\\n  hi\n",
			want: ImageConfig{Cmd: []string{"/bin/sh", "-c", "echo hi"}}},
		{name: "ENTRYPOINT resets an earlier CMD", text: "FROM alpine\nCMD [\"x\"]\nENTRYPOINT [\"y\"]\n",
			want: ImageConfig{Entrypoint: []string{"y"}}},
		{name: "cleared", text: "FROM alpine\nENTRYPOINT [\"y\"]\nENTRYPOINT []\n", want: ImageConfig{}},
		{name: "stage inherits stage", text: "FROM alpine AS base\nENTRYPOINT [\"y\"]\nFROM --platform=linux/amd64 base\nCMD [\"z\"]\n",
			want: ImageConfig{Entrypoint: []string{"y"}, Cmd: []string{"z"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "Dockerfile")
			require.NoError(t, os.WriteFile(path, []byte(tc.text), 0o600))
			got, err := ReadDockerfile(path)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	path := filepath.Join(t.TempDir(), "Dockerfile")
	require.NoError(t, os.WriteFile(path, []byte("FROM alpine\nENTRYPOINT [\"a\"\n"), 0o600))
	_, err := ReadDockerfile(path)
	require.Error(t, err)
}

func TestImageConfigArgv(t *testing.T) {
	c := ImageConfig{Entrypoint: []string{"/bin/action"}, Cmd: []string{"--help"}}
	require.Equal(t, []string{"/bin/action", "hf2ms", "worker"}, c.argv([]string{"hf2ms", "worker"}))
	require.Equal(t, []string{"/bin/action", "--help"}, c.argv(nil))
	require.Equal(t, []string{"hf2ms"}, ImageConfig{}.argv([]string{"hf2ms"}))
}
