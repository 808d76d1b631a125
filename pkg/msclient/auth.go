package msclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Login is the answer to POST /api/v1/login.
type Login struct {
	// Username is the token owner's user name.
	Username string
	// Email is the owner's e-mail, when the hub gives it.
	Email string
	// GitToken is the separate token for git over HTTPS (the fallback path), "" when the hub
	// gave none. The client keeps it out of its errors.
	GitToken string
	// Reduced is true when the hub refused the login (a read-only or scoped token) but
	// /openapi/v1/users/me accepted the token: reads work, writes likely will not, and there is
	// no git token.
	Reduced bool
}

// Login exchanges the access token for the user's name and git token (POST /api/v1/login) and
// keeps the session cookies the hub sets for later calls. A token the hub refuses fails with an
// error matching hubkit.ErrUnauthorized (the hub answers 400, code 10010103009), unless users/me accepts
// it, in which case Login succeeds with Reduced set.
func (c *Client) Login(ctx context.Context) (*Login, error) {
	if err := c.check(nil); err != nil {
		return nil, err
	}
	if c.token == "" {
		return nil, fmt.Errorf("msclient: login: no access token configured: %w", hubkit.ErrUnauthorized)
	}
	var data struct {
		AccessToken string `json:"AccessToken"`
		Username    string `json:"Username"`
		Email       string `json:"Email"`
	}
	var resp *http.Response
	err := c.do(ctx, call{
		method: http.MethodPost, path: "/api/v1/login",
		body: map[string]string{"AccessToken": c.token},
		out:  &data, resp: &resp,
		// A login has no side effect: a 5xx or a cut answer is sent again like a GET
		// (modelscope_hub retries it the same way).
		idempot: true,
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == codeLoginRefused {
			if u, werr := c.whoAmI(ctx); werr == nil && u.Name != "" {
				return &Login{Username: u.Name, Email: u.Email, Reduced: true}, nil
			}
		}
		return nil, err
	}
	c.secrets.Add(data.AccessToken)
	if resp != nil {
		if cks := resp.Cookies(); len(cks) > 0 {
			c.mu.Lock()
			c.cookies = cks
			c.mu.Unlock()
			for _, ck := range cks {
				c.secrets.Add(ck.Value)
			}
		}
	}
	if data.Username == "" {
		return nil, &Error{Method: http.MethodPost, Path: "/api/v1/login", HTTPStatus: http.StatusOK,
			Message: "login answer has no Username", Kind: hubkit.ErrServer}
	}
	return &Login{Username: data.Username, Email: data.Email, GitToken: data.AccessToken}, nil
}

// User is the token's owner.
type User struct {
	// Name is the user name (the namespace of the user's own repos).
	Name string
	// ID is the hub's user id, when given.
	ID string
	// Email, Nickname and AvatarURL are profile fields, when given.
	Email     string
	Nickname  string
	AvatarURL string
	// Orgs lists the organisations the hub says the user belongs to (often not reported).
	Orgs []string
}

// WhoAmI returns the token's owner (GET /openapi/v1/users/me, Bearer auth). The field names are
// read tolerantly (username, name, preferred_username, ...), as the hub has been moving to
// OIDC-style claims. If the route does not exist (404) it falls back to Login. No token, or a
// token the hub refuses, fails with an error matching hubkit.ErrUnauthorized.
func (c *Client) WhoAmI(ctx context.Context) (*User, error) {
	if err := c.check(nil); err != nil {
		return nil, err
	}
	if c.token == "" {
		return nil, fmt.Errorf("msclient: whoami: no access token configured: %w", hubkit.ErrUnauthorized)
	}
	u, err := c.whoAmI(ctx)
	if errors.Is(err, hubkit.ErrNotFound) {
		l, lerr := c.Login(ctx)
		if lerr != nil {
			return nil, lerr
		}
		return &User{Name: l.Username, Email: l.Email}, nil
	}
	return u, err
}

func (c *Client) whoAmI(ctx context.Context) (*User, error) {
	var data map[string]json.RawMessage
	const path = "/openapi/v1/users/me"
	if err := c.do(ctx, call{method: http.MethodGet, path: path, out: &data}); err != nil {
		return nil, err
	}
	u := &User{
		Name:      pickString(data, "Username", "username", "name", "preferred_username", "Name"),
		ID:        pickString(data, "UserId", "user_id", "sub", "id", "Id"),
		Email:     pickString(data, "Email", "email", "mail"),
		Nickname:  pickString(data, "nickname", "Nickname", "display_name"),
		AvatarURL: pickString(data, "avatar_url", "Avatar", "picture", "avatarUrl"),
		Orgs:      pickNames(data, "orgs", "Orgs", "organizations", "Organizations", "groups"),
	}
	if u.Name == "" {
		return nil, &Error{Method: http.MethodGet, Path: path, HTTPStatus: http.StatusOK,
			Message: "users/me answer has no user name", Kind: hubkit.ErrUnauthorized}
	}
	return u, nil
}
