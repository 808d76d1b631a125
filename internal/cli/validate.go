package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/internal/app"
)

func (a *App) validateCommand() *cobra.Command {
	var needModal bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the Hugging Face token, the ModelScope token and the Modal credentials for real",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := a.svc.Validate(cmd.Context(), needModal)
			printChecks(a.Stdout, checks)
			if app.ChecksFailed(checks) {
				return exitError{ExitFailure}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&needModal, "modal", false, "fail when Modal credentials are missing (otherwise only reported)")
	return cmd
}

func printChecks(w io.Writer, checks []app.Check) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" && c.Status != app.CheckOK {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	tw.Flush()
}
