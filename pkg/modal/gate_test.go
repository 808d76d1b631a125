package modal

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// gate holds fake workers until the test opens it, so tests synchronise with the workers
// instead of racing a sleep against the machine's load. A worker with the behaviour
// gate.directive(target) connects to the gate's unix socket after logging its start and waits
// there for one byte.
type gate struct {
	t       *testing.T
	path    string
	lis     net.Listener
	arrived chan struct{} // one value per worker that reached the gate

	mu   sync.Mutex
	open bool
	held []net.Conn
}

func newGate(t *testing.T) *gate {
	t.Helper()
	dir, err := os.MkdirTemp("", "gate") // short: a unix socket path has at most 107 bytes
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	g := &gate{t: t, path: filepath.Join(dir, "s"), arrived: make(chan struct{}, 1000)}
	g.lis, err = net.Listen("unix", g.path)
	require.NoError(t, err)
	t.Cleanup(func() { g.Open(); _ = g.lis.Close() })
	go func() {
		for {
			c, err := g.lis.Accept()
			if err != nil {
				return
			}
			g.mu.Lock()
			if g.open {
				_, _ = c.Write([]byte{1})
				_ = c.Close()
			} else {
				g.held = append(g.held, c)
			}
			g.mu.Unlock()
			g.arrived <- struct{}{}
		}
	}()
	return g
}

// directive is the HF2MS_TEST_BEHAVIOR entry gating the workers of target ("*" or a shard).
func (g *gate) directive(target string) string { return "gate=" + target + ":" + g.path }

// Open lets every held worker and every later one through.
func (g *gate) Open() {
	g.mu.Lock()
	g.open = true
	g.mu.Unlock()
	g.releaseHeld()
}

// releaseHeld lets the workers held now through; later ones are held until the next release.
func (g *gate) releaseHeld() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.held {
		_, _ = c.Write([]byte{1})
		_ = c.Close()
	}
	g.held = nil
}

// waitArrivals blocks until n more workers reached the gate. The bound only turns a hang (a
// bug) into a failure; it is not a timing assumption.
func (g *gate) waitArrivals(n int) {
	g.t.Helper()
	for range n {
		select {
		case <-g.arrived:
		case <-time.After(2 * time.Minute):
			g.t.Fatalf("gate: fewer than %d workers arrived", n)
		}
	}
}

// passGate is the worker's side: connect and wait for the byte.
func passGate(path string) error {
	c, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = io.ReadFull(c, make([]byte, 1))
	return err
}
