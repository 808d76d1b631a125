package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Detection is the outcome of Detect.
type Detection struct {
	// Type is the detected repository type.
	Type hubkit.RepoType
	// Found lists every type under which the id exists, in probe order (model, dataset, space).
	Found []hubkit.RepoType
	// Notice explains a choice among several types ("" when the id exists as one type only).
	Notice string
}

// DetectType finds out whether id on hub is a model, a dataset or (on Hugging Face) a space, by
// asking h.Info for each in that order. When the id exists as several types, the model wins (see
// Detect for the notice saying so). When every probe answers hubkit.ErrNotFound, the error says "not
// found as model, dataset or space" and wraps hubkit.ErrNotFound; any other failure (unauthorized,
// forbidden, network) is returned as it is and never reported as "not found". hub may be "" to use
// h.Name().
func DetectType(ctx context.Context, h Hub, hub HubName, id string) (hubkit.RepoType, error) {
	d, err := Detect(ctx, h, hub, id)
	if err != nil {
		return "", err
	}
	return d.Type, nil
}

// Detect is DetectType returning the full detection, including the notice to show when the id
// exists as several types. Once a type has been found, failures of the remaining probes (which
// only serve the notice) are ignored.
func Detect(ctx context.Context, h Hub, hub HubName, id string) (Detection, error) {
	if hub == "" {
		hub = h.Name()
	}
	types := []hubkit.RepoType{hubkit.Model, hubkit.Dataset}
	if hub == HuggingFace {
		types = append(types, hubkit.Space)
	}
	var d Detection
	for _, t := range types {
		repo := Repo{Hub: hub, Type: t, ID: id}
		_, err := h.Info(ctx, repo)
		switch {
		case err == nil:
			d.Found = append(d.Found, t)
		case errors.Is(err, hubkit.ErrNotFound):
		case len(d.Found) > 0:
			// The answer is already decided (the first type found wins); a failing extra probe
			// only costs the notice.
		default:
			return Detection{}, fmt.Errorf("detecting the type of %s:%s (as %s): %w", string(hub), id, t, err)
		}
	}
	if len(d.Found) == 0 {
		names := make([]string, len(types))
		for i, t := range types {
			names[i] = string(t)
		}
		return Detection{}, fmt.Errorf("%s:%s not found as %s on %s (check the name, and that the token can see it): %w",
			string(hub), id, joinWords(names, "or"), hub, hubkit.ErrNotFound)
	}
	d.Type = d.Found[0]
	if len(d.Found) > 1 {
		others := make([]string, 0, len(d.Found)-1)
		for _, t := range d.Found[1:] {
			others = append(others, string(t))
		}
		d.Notice = fmt.Sprintf("%s:%s exists as a %s and as a %s on %s; using the %s (pass --repo-type to choose)",
			string(hub), id, d.Type, joinWords(others, "and"), hub, d.Type)
	}
	return d, nil
}

// joinWords renders ["a","b","c"] as "a, b <conj> c".
func joinWords(s []string, conj string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " " + conj + " " + s[len(s)-1]
}
