package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

// check is one line of `hf2ms validate`.
type check struct {
	name, status, detail, fix string
}

func (a *App) validateCommand() *cobra.Command {
	var needModal bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the Hugging Face token, the ModelScope token and the Modal credentials for real",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := a.validate(cmd.Context(), needModal)
			printChecks(a.Stdout, checks)
			for _, c := range checks {
				if c.status == "FAIL" {
					return exitError{ExitFailure}
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&needModal, "modal", false, "fail when Modal credentials are missing (otherwise only reported)")
	return cmd
}

func (a *App) validate(ctx context.Context, needModal bool) []check {
	var out []check

	// Hugging Face: whoami-v2 says who the token is and whether it can write.
	hfc := check{name: "Hugging Face (" + app.EnvHFToken + ")"}
	if tok := a.svc.Env.Get(app.EnvHFToken); tok == "" {
		hfc.status, hfc.detail = "FAIL", "not set"
		hfc.fix = "create a write token at https://huggingface.co/settings/tokens and export HF_TOKEN=..."
	} else {
		u, err := a.svc.HFClient("").WhoAmI(ctx)
		switch {
		case err == nil:
			hfc.status = "ok"
			hfc.detail = fmt.Sprintf("user %s, token role %s", u.Name, u.Role)
			if len(u.Orgs) > 0 {
				hfc.detail += fmt.Sprintf(", orgs %v", u.Orgs)
			}
			if u.Role == "read" {
				hfc.status = "WARN"
				hfc.fix = "this token can only read: migrations TO Hugging Face need a write (or fine-grained write) token"
			}
		case errors.Is(err, hubkit.ErrUnauthorized):
			hfc.status, hfc.detail = "FAIL", "the Hub rejected the token"
			hfc.fix = "the token is invalid or expired: create a new one at https://huggingface.co/settings/tokens"
		default:
			hfc.status, hfc.detail = "FAIL", a.redact(err.Error())
			hfc.fix = "check the network and HF_ENDPOINT"
		}
	}
	out = append(out, hfc)

	// ModelScope: login with the access token returns the user name.
	msc := check{name: "ModelScope (" + app.EnvMSToken + ")"}
	if tok := a.svc.Env.Get(app.EnvMSToken); tok == "" {
		msc.status, msc.detail = "FAIL", "not set"
		msc.fix = "copy your SDK token from https://modelscope.cn/my/myaccesstoken and export MODELSCOPE_TOKEN=..."
	} else {
		c := a.svc.MSClient("")
		l, err := c.Login(ctx)
		switch {
		case err == nil:
			msc.status, msc.detail = "ok", fmt.Sprintf("user %s at %s", l.Username, c.Endpoint())
		case errors.Is(err, hubkit.ErrUnauthorized), errors.Is(err, hubkit.ErrForbidden):
			msc.status, msc.detail = "FAIL", "ModelScope rejected the token"
			msc.fix = "the token is invalid (or for the other site: set MODELSCOPE_DOMAIN=modelscope.ai for the international site)"
		default:
			msc.status, msc.detail = "FAIL", a.redact(err.Error())
			msc.fix = "check the network, MODELSCOPE_DOMAIN and MODELSCOPE_ENDPOINT"
		}
	}
	out = append(out, msc)

	// Modal: presence only; `hf2ms hello` proves they work.
	mc := check{name: "Modal (" + app.EnvModalTokenID + ", " + app.EnvModalTokenSecret + ")"}
	if err := modal.CheckCredentials(a.svc.Env.Getenv); err != nil {
		mc.status, mc.detail = "skip", a.redact(err.Error())
		if needModal {
			mc.status = "FAIL"
		}
		mc.fix = "only needed for --executor modal: create a token with `modal token new` or at https://modal.com/settings/tokens"
	} else {
		mc.status, mc.detail = "ok", "present (run `hf2ms hello` to start a container with them)"
	}
	out = append(out, mc)
	return out
}

func printChecks(w io.Writer, checks []check) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.status, c.name, c.detail)
		if c.fix != "" && c.status != "ok" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.fix)
		}
	}
	tw.Flush()
}
