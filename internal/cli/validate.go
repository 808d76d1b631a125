package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/modal"
	"github.com/linaqruf/hf2ms/pkg/msclient"
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
	ep := a.env.Endpoints()
	var out []check

	// Hugging Face: whoami-v2 says who the token is and whether it can write.
	hfc := check{name: "Hugging Face (" + EnvHFToken + ")"}
	if tok := a.env.Get(EnvHFToken); tok == "" {
		hfc.status, hfc.detail = "FAIL", "not set"
		hfc.fix = "create a write token at https://huggingface.co/settings/tokens and export HF_TOKEN=..."
	} else {
		opts := []hub.Option{hub.WithToken(tok)}
		if ep.HF != "" {
			opts = append(opts, hub.WithEndpoint(ep.HF))
		}
		u, err := hub.NewClient(opts...).WhoAmI(ctx)
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
			hfc.status, hfc.detail = "FAIL", httpx.Redact(err.Error())
			hfc.fix = "check the network and HF_ENDPOINT"
		}
	}
	out = append(out, hfc)

	// ModelScope: login with the access token returns the user name.
	msc := check{name: "ModelScope (" + EnvMSToken + ")"}
	if tok := a.env.Get(EnvMSToken); tok == "" {
		msc.status, msc.detail = "FAIL", "not set"
		msc.fix = "copy your SDK token from https://modelscope.cn/my/myaccesstoken and export MODELSCOPE_TOKEN=..."
	} else {
		opts := []msclient.Option{msclient.WithToken(tok)}
		if ep.MS != "" {
			opts = append(opts, msclient.WithEndpoint(ep.MS))
		}
		c := msclient.NewClient(opts...)
		l, err := c.Login(ctx)
		switch {
		case err == nil:
			msc.status, msc.detail = "ok", fmt.Sprintf("user %s at %s", l.Username, c.Endpoint())
		case errors.Is(err, hubkit.ErrUnauthorized), errors.Is(err, hubkit.ErrForbidden):
			msc.status, msc.detail = "FAIL", "ModelScope rejected the token"
			msc.fix = "the token is invalid (or for the other site: set MODELSCOPE_DOMAIN=modelscope.ai for the international site)"
		default:
			msc.status, msc.detail = "FAIL", httpx.Redact(err.Error())
			msc.fix = "check the network, MODELSCOPE_DOMAIN and MODELSCOPE_ENDPOINT"
		}
	}
	out = append(out, msc)

	// Modal: presence only; `hf2ms hello` proves they work.
	mc := check{name: "Modal (" + EnvModalTokenID + ", " + EnvModalTokenSecret + ")"}
	if err := modal.CheckCredentials(a.env.Getenv); err != nil {
		mc.status, mc.detail = "skip", httpx.Redact(err.Error())
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
