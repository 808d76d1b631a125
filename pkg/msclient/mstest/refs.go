package mstest

import (
	"fmt"
	"sort"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// masterBranch is the only branch ModelScope's commit API writes to.
const masterBranch = "master"

// msgMasterOnly is the fake's answer to a commit aimed at another branch. Uploads to a branch
// other than master fail on ModelScope; a revision there is a tag made from master
// (github.com/modelscope/modelscope issues 1470 and 1582).
const msgMasterOnly = "commits are accepted on master only; create a tag from master for another revision"

// Tags returns repo's tags and the commit each points to.
func (s *Server) Tags(kind hubkit.RepoType, id string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(kind, id)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(r.tags))
	for name, t := range r.tags {
		out[name] = t.commit
	}
	return out, nil
}

// TagOrder returns repo's tag names in creation order, oldest first.
func (s *Server) TagOrder(kind hubkit.RepoType, id string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(kind, id)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(r.tags))
	for name := range r.tags {
		names = append(names, name)
	}
	sort.SliceStable(names, func(i, j int) bool {
		a, b := r.tags[names[i]], r.tags[names[j]]
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return names[i] < names[j]
	})
	return names, nil
}

// DeleteTag removes a tag from the fake's state. It is a seeding helper only: ModelScope's
// public API offers no tag deletion, so the fake serves none either.
func (s *Server) DeleteTag(kind hubkit.RepoType, id, tag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(kind, id)
	if err != nil {
		return err
	}
	if _, ok := r.tags[tag]; !ok {
		return fmt.Errorf("%w: tag %q", errNotFound, tag)
	}
	delete(r.tags, tag)
	return nil
}
