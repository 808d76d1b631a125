// Command wanlimit prints what a WAN profile (internal/wan) allows a copy, for bench/wan.sh: the
// limit rate and its bottleneck when the source is read with the given connection budget, and
// the same for the one-connection-per-file approach, as KEY=VALUE lines (rates in bytes/s).
package main

import (
	"flag"
	"fmt"
	"log"

	"github.com/linaqruf/hf2ms/internal/wan"
)

func main() {
	name := flag.String("profile", "cdn-edge", "WAN profile, on both hubs' hosts")
	files := flag.Int("files", 1, "files in the copy")
	bytes := flag.Int64("bytes", 0, "bytes in the copy")
	inFlight := flag.Int("inflight", 4, "files transferred at once")
	conns := flag.Int("conns", 16, "connections to the source host at once (per-host budget)")
	singlePut := flag.Bool("single-put", true, "the destination takes each file as one stream")
	parts := flag.Int("parts", 4, "parts in flight per file when not -single-put")
	flag.Parse()
	p, err := wan.Lookup(*name)
	if err != nil {
		log.Fatal(err)
	}
	f := wan.Flow{Src: p, Dst: p, Files: *files, Bytes: *bytes, InFlight: *inFlight, Conns: *conns,
		SinglePut: *singlePut, Parts: *parts}
	l, one := f.Limit(), f.OneConnection()
	fmt.Printf("LIMIT=%.0f\nBOTTLENECK=%s\nONECONN=%.0f\nONECONN_BOTTLENECK=%s\nRTT_MS=%d\nPROFILE=%s\n",
		l.Rate, l.Bottleneck, one.Rate, one.Bottleneck, p.RTT().Milliseconds(), p)
}
