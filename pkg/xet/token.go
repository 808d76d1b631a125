package xet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Token is a CAS access token and the CAS it is good for.
type Token struct {
	AccessToken string
	CasURL      string
	Expires     time.Time
}

// TokenSource hands out CAS tokens, refreshing them before they expire.
type TokenSource interface {
	// Token returns a token valid for at least the refresh margin.
	Token(ctx context.Context) (Token, error)
	// Invalidate drops a cached token the CAS refused (401), so the next Token call refreshes.
	Invalidate(tok Token)
}

// refreshMargin is how long before expiry a token is refreshed (huggingface.js
// xetWriteToken.ts JWT_SAFETY_PERIOD is 60 s).
const refreshMargin = time.Minute

// HubTokens fetches tokens from a Hub token route such as
// {hub}/api/models/{ns}/{name}/xet-read-token/{rev}, which answers {accessToken, exp, casUrl}
// to a request that carries the Hub bearer token. The Hub token goes to that URL only.
type HubTokens struct {
	// URL is the token route.
	URL string
	// HubToken is the Hub bearer token ("" for anonymous reads of public repos).
	HubToken string
	// HTTP is the client for the route (nil: http.DefaultClient).
	HTTP *http.Client
	// Initial, when set, is used until it nears expiry (the LFS batch hands one out).
	Initial *Token
	// SessionID, when set, is sent as X-Xet-Session-Id.
	SessionID string

	mu  sync.Mutex
	tok *Token
}

// Token implements TokenSource.
func (s *HubTokens) Token(ctx context.Context) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil && s.Initial != nil {
		t := *s.Initial
		s.tok = &t
	}
	if s.tok != nil && time.Until(s.tok.Expires) > refreshMargin {
		return *s.tok, nil
	}
	t, err := s.fetch(ctx)
	if err != nil {
		return Token{}, err
	}
	s.tok = &t
	return t, nil
}

// Invalidate implements TokenSource.
func (s *HubTokens) Invalidate(tok Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == tok.AccessToken {
		s.tok = nil
		s.Initial = nil
	}
}

func (s *HubTokens) fetch(ctx context.Context) (Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return Token{}, fmt.Errorf("xet: token request: %w", err)
	}
	if s.HubToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.HubToken)
	}
	if s.SessionID != "" {
		req.Header.Set("X-Xet-Session-Id", s.SessionID)
	}
	hc := s.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("xet: token request: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return Token{}, &StatusError{Op: "token", Status: resp.StatusCode, Body: snippet(body)}
	}
	var tj struct {
		AccessToken string `json:"accessToken"`
		Exp         int64  `json:"exp"`
		CasURL      string `json:"casUrl"`
	}
	if err := json.Unmarshal(body, &tj); err != nil {
		return Token{}, fmt.Errorf("xet: token answer: %w", err)
	}
	if tj.AccessToken == "" || tj.CasURL == "" {
		return Token{}, fmt.Errorf("xet: token answer lacks accessToken or casUrl")
	}
	return Token{AccessToken: tj.AccessToken, CasURL: tj.CasURL, Expires: time.Unix(tj.Exp, 0)}, nil
}

// TokenFromHeaders reads the X-Xet-Cas-Url, X-Xet-Access-Token and X-Xet-Token-Expiration
// headers the Hub puts on an LFS batch "xet" action or a token answer. ok is false when any is
// missing.
func TokenFromHeaders(h http.Header) (Token, bool) {
	cas, tok, exp := h.Get("X-Xet-Cas-Url"), h.Get("X-Xet-Access-Token"), h.Get("X-Xet-Token-Expiration")
	if cas == "" || tok == "" || exp == "" {
		return Token{}, false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return Token{}, false
	}
	return Token{AccessToken: tok, CasURL: cas, Expires: time.Unix(sec, 0)}, true
}

// StatusError is a non-success HTTP answer from the CAS or a token route.
type StatusError struct {
	Op     string
	Status int
	Body   string
}

// Error implements error: the operation, the HTTP status, and the body when there was one.
func (e *StatusError) Error() string {
	if e.Body != "" {
		return fmt.Sprintf("xet: %s: HTTP %d: %s", e.Op, e.Status, e.Body)
	}
	return fmt.Sprintf("xet: %s: HTTP %d", e.Op, e.Status)
}

// Retryable reports whether the status is one the spec says to retry (429, 500, 503, 504) or
// another 5xx.
func (e *StatusError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

func snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
