package httpx

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/linaqruf/hf2ms/internal/redact"
)

// cleanURL is u without userinfo, query or fragment: safe to log and show.
func cleanURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, Opaque: u.Opaque}
	return redact.Shapes(c.String())
}

// cleanURLString is cleanURL for a URL in text form.
func cleanURLString(s string) string {
	if u, err := url.Parse(s); err == nil {
		return cleanURL(u)
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	return redact.Shapes(s)
}

// redactedError shows a redacted message but unwraps to the original error, so errors.Is and
// errors.As keep working.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// RedactError returns err with a message safe to log or show: every *url.Error in it shows its
// URL without query, fragment or userinfo, and registered secrets and token-shaped strings are
// replaced by "[REDACTED]". The result still unwraps to err (errors.Is / errors.As work). Hub
// clients call it on every error from the *http.Client's Do, whose *url.Error carries the full,
// possibly signed, request URL. A nil err gives nil.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	var re *redactedError
	if errors.As(err, &re) && re == err {
		return err
	}
	return &redactedError{msg: redactMessage(err), err: err}
}

func redactMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue == err {
		inner := ""
		if ue.Err != nil {
			inner = redactMessage(ue.Err)
		}
		return ue.Op + " " + cleanURLString(ue.URL) + ": " + inner
	}
	msg := err.Error()
	// A url.Error deeper in the chain: replace its URL text by the clean form.
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ue, ok := e.(*url.Error); ok && ue.URL != "" {
			msg = strings.ReplaceAll(msg, ue.URL, cleanURLString(ue.URL))
		}
	}
	return redact.Shapes(msg)
}

// wrapTransportErr turns an error from one of our round trips into "httpx: METHOD clean-url:
// cause", redacted, still unwrapping to the cause. Inner *url.Error layers (from the retry
// client's own http.Client) are peeled off: net/http adds one again around ours.
func wrapTransportErr(req *http.Request, err error) error {
	for {
		ue, ok := err.(*url.Error)
		if !ok || ue.Err == nil {
			break
		}
		err = ue.Err
	}
	var re *redactedError
	if errors.As(err, &re) && re == err {
		err = re.err
	}
	return &redactedError{
		msg: "httpx: " + req.Method + " " + cleanURL(req.URL) + ": " + redactMessage(err),
		err: err,
	}
}
