package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

// Check statuses.
const (
	CheckOK   = "ok"
	CheckWarn = "WARN"
	CheckFail = "FAIL"
	CheckSkip = "skip"
)

// Check is one line of a credentials check: what was checked, how it went, and how to fix it.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // CheckOK, CheckWarn, CheckFail or CheckSkip
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// ChecksFailed reports whether any check failed.
func ChecksFailed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == CheckFail {
			return true
		}
	}
	return false
}

// Validate checks the Hugging Face token and the ModelScope token against their hubs, and
// whether Modal credentials are present (a failure only when needModal). Every detail is
// redacted. It is what `hf2ms validate` and the MCP server's validate tool show.
func (s *Service) Validate(ctx context.Context, needModal bool) []Check {
	return []Check{s.checkHF(ctx), s.checkMS(ctx), s.checkModal(needModal)}
}

// checkHF asks whoami-v2 who the token is and whether it can write.
func (s *Service) checkHF(ctx context.Context) Check {
	c := Check{Name: "Hugging Face (" + EnvHFToken + ")"}
	if s.Env.Get(EnvHFToken) == "" {
		return c.failed("not set", "create a write token at https://huggingface.co/settings/tokens and export HF_TOKEN=...")
	}
	u, err := s.HFClient("").WhoAmI(ctx)
	if err != nil {
		return s.tokenFailure(c, err, "the Hub rejected the token",
			"the token is invalid or expired: create a new one at https://huggingface.co/settings/tokens",
			"check the network and HF_ENDPOINT", hubkit.ErrUnauthorized)
	}
	c.Status = CheckOK
	c.Detail = fmt.Sprintf("user %s, token role %s", u.Name, u.Role)
	if len(u.Orgs) > 0 {
		c.Detail += fmt.Sprintf(", orgs %v", u.Orgs)
	}
	if u.Role == "read" {
		c.Status = CheckWarn
		c.Fix = "this token can only read: migrations TO Hugging Face need a write (or fine-grained write) token"
	}
	return c
}

// checkMS logs in with the access token, which returns the user name.
func (s *Service) checkMS(ctx context.Context) Check {
	c := Check{Name: "ModelScope (" + EnvMSToken + ")"}
	if s.Env.Get(EnvMSToken) == "" {
		return c.failed("not set", "copy your SDK token from https://modelscope.cn/my/myaccesstoken and export MODELSCOPE_TOKEN=...")
	}
	cl := s.MSClient("")
	l, err := cl.Login(ctx)
	if err != nil {
		return s.tokenFailure(c, err, "ModelScope rejected the token",
			"the token is invalid (or for the other site: set MODELSCOPE_DOMAIN=modelscope.ai for the international site)",
			"check the network, MODELSCOPE_DOMAIN and MODELSCOPE_ENDPOINT", hubkit.ErrUnauthorized, hubkit.ErrForbidden)
	}
	c.Status, c.Detail = CheckOK, fmt.Sprintf("user %s at %s", l.Username, cl.Endpoint())
	return c
}

// failed returns c as a failed check with its detail and fix.
func (c Check) failed(detail, fix string) Check {
	c.Status, c.Detail, c.Fix = CheckFail, detail, fix
	return c
}

// tokenFailure returns c failed by a hub's answer err: a rejected token when err is one of the
// rejected kinds, otherwise the redacted error with otherFix.
func (s *Service) tokenFailure(c Check, err error, rejectedDetail, rejectedFix, otherFix string, rejected ...error) Check {
	for _, k := range rejected {
		if errors.Is(err, k) {
			return c.failed(rejectedDetail, rejectedFix)
		}
	}
	return c.failed(s.Redact(err.Error()), otherFix)
}

// checkModal checks presence only; `hf2ms hello` proves the credentials work.
func (s *Service) checkModal(needModal bool) Check {
	c := Check{Name: "Modal (" + EnvModalTokenID + ", " + EnvModalTokenSecret + ")"}
	if err := modal.CheckCredentials(s.Env.Getenv); err != nil {
		c.Status, c.Detail = CheckSkip, s.Redact(err.Error())
		if needModal {
			c.Status = CheckFail
		}
		c.Fix = "only needed for --executor modal: create a token with `modal token new` or at https://modal.com/settings/tokens"
		return c
	}
	c.Status, c.Detail = CheckOK, "present (run `hf2ms hello` to start a container with them)"
	return c
}
