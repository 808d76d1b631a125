package cli

import (
	"encoding/json"
	"fmt"
)

// jsonUsage is the --json flag's help.
const jsonUsage = "print one JSON document (the --report schema) on stdout and nothing else; progress goes to stderr"

// printJSON writes v as one indented JSON document on stdout, redacted. With --json this is
// all a command prints on stdout.
func (a *App) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the JSON output: %w", err)
	}
	_, err = fmt.Fprintf(a.Stdout, "%s\n", a.redact(string(b)))
	return err
}
