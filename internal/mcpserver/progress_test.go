package mcpserver

import (
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

func TestProgressMapsEvents(t *testing.T) {
	var got []*mcp.ProgressNotificationParams
	p := &progress{token: "t", done: map[string]int64{}, redact: func(s string) string { return strings.ReplaceAll(s, "secret", "[REDACTED]") },
		send: func(n *mcp.ProgressNotificationParams) { got = append(got, n) }}
	const total = 1000
	events := []migrate.Event{
		{Type: migrate.EventPlan, Plan: &migrate.PlanSummary{CopyFiles: 2, CopyBytes: total, SkipFiles: 1}},
		{Type: migrate.EventFileDone, Path: "same.txt", Size: 5, Action: migrate.ActionSkipped},
		{Type: migrate.EventProgress, Path: "a.bin", Bytes: 5},   // under 1% of the total: not sent
		{Type: migrate.EventProgress, Path: "a.bin", Bytes: 300}, // sent
		{Type: migrate.EventProgress, Path: "a.bin", Bytes: 200}, // goes back: ignored
		{Type: migrate.EventProgress, Path: "b-secret.bin", Bytes: 400},
		{Type: migrate.EventFileDone, Path: "a.bin", Size: 600, Action: migrate.ActionCopied},
		{Type: migrate.EventFileDone, Path: "b-secret.bin", Size: 400, Action: migrate.ActionStored},
		{Type: migrate.EventCommit, Commit: "0123456789abcdef0123"},
		{Type: migrate.EventVerify, Verify: &migrate.Verification{Matched: 3}},
		{Type: migrate.EventDone},
	}
	for _, ev := range events {
		p.event(ev)
	}
	type note struct {
		progress float64
		msg      string
	}
	var notes []note
	for _, n := range got {
		require.Equal(t, "t", n.ProgressToken)
		require.Equal(t, float64(total), n.Total)
		notes = append(notes, note{n.Progress, n.Message})
	}
	require.Equal(t, []note{
		{0, "planned: 2 files to copy (1000 B), 1 to skip, 0 to delete"},
		{300, "copying a.bin"},
		{700, "copying b-[REDACTED].bin"},
		{1000, "copied a.bin"},
		{1000, "stored b-[REDACTED].bin"},
		{1000, "committed 0123456789ab"},
		{1000, "verified the destination"},
	}, notes)
}

func TestProgressWithoutTokenIsSilent(t *testing.T) {
	p := newProgress(t.Context(), nil, func(s string) string { return s })
	p.event(migrate.Event{Type: migrate.EventPlan, Plan: &migrate.PlanSummary{CopyBytes: 1}})
	require.Nil(t, p.send)
}
