// go-relay: a minimal go-libp2p circuit-relay-v2 relay, the comparator of the relay throughput
// benchmark (two js-libp2p peers transfer bytes through it, as through a js anchor relay).
//
// The host speaks what the js peers speak and nothing else: TCP only (no QUIC, WebTransport or
// WebRTC), /noise only (no TLS), /yamux/1.0.0 only, an Ed25519 identity made at start, identify
// on (the default). The relay service runs with no per-circuit limit (no data cap, no duration),
// so a long transfer is not cut, and with the null resource manager and connection manager, so
// neither blocks nor trims anything.
//
// On start it prints exactly one JSON line to stdout,
//
//	{"peerId":"12D3Koo...","multiaddrs":["/ip4/127.0.0.1/tcp/40123/p2p/12D3Koo..."]}
//
// then runs until SIGINT or SIGTERM and exits 0. Logs (if any) go to stderr.
//
// Three subcommands make it go-libp2p relay *clients* instead:
//
//	go-relay reserve --relay MULTIADDR           one reservation, and the limits go-libp2p read from it (reserve.go)
//	go-relay hold --relay MULTIADDR[,MULTIADDR]  a NATed peer that keeps its reservations and advertises their
//	                                             circuit addresses in its signed peer record (hold.go)
//	go-relay peers --relay MULTIADDR             many peers that keep a reservation each with the peer library's
//	                                             redial policy: the reconnect-storm benchmark's load (peers.go)
//
// Flags:
//
//	--listen MULTIADDR   listen address, repeatable or comma-separated (default /ip4/127.0.0.1/tcp/0)
//	--buffer-size N      relay copy buffer per direction, bytes (default 2048, go-libp2p's default)
//	--max-reservations N relay slots (default 128, go-libp2p's default); also the per-IP and
//	                     per-ASN caps, which go-libp2p sets to 8 and 32 and which would bite when
//	                     every peer comes from 127.0.0.1
package main

import (
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

type startup struct {
	PeerID     string   `json:"peerId"`
	Multiaddrs []string `json:"multiaddrs"`
}

func main() {
	subcommands := map[string]func([]string) error{"reserve": reserve, "hold": hold, "peers": peers}
	if len(os.Args) > 1 && subcommands[os.Args[1]] != nil {
		if err := subcommands[os.Args[1]](os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "go-relay:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-relay:", err)
		os.Exit(1)
	}
}

func run() error {
	var listen listFlag
	flag.Var(&listen, "listen", "listen multiaddr, repeatable or comma-separated (default /ip4/127.0.0.1/tcp/0)")
	bufferSize := flag.Int("buffer-size", 2048, "relay copy buffer per direction in bytes (go-libp2p default 2048)")
	maxReservations := flag.Int("max-reservations", 128, "relay slots; also used as the per-IP and per-ASN caps")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", flag.Args())
	}
	if len(listen) == 0 {
		listen = listFlag{"/ip4/127.0.0.1/tcp/0"}
	}
	if *bufferSize <= 0 || *maxReservations <= 0 {
		return fmt.Errorf("--buffer-size and --max-reservations must be positive")
	}

	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating identity: %w", err)
	}

	// Naming a transport, a security transport and a muxer replaces go-libp2p's defaults for
	// each (TCP+QUIC+WebTransport+WebRTC, TLS+Noise, Yamux), so these are all the host offers.
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.ConnectionManager(&connmgr.NullConnMgr{}),
		// The relay service is started by hand below: libp2p.EnableRelayService only starts it
		// once AutoNAT finds the host publicly reachable, which a loopback host never is.
		libp2p.DisableRelay(), // the relay *client* transport (dialing through relays); not needed
		libp2p.DisableMetrics(),
	)
	if err != nil {
		return fmt.Errorf("creating host: %w", err)
	}
	defer h.Close()

	rc := relay.DefaultResources()
	rc.Limit = nil // no data cap, no duration cap: circuits are relayed unlimited
	rc.BufferSize = *bufferSize
	rc.MaxReservations = *maxReservations
	rc.MaxReservationsPerIP = *maxReservations
	rc.MaxReservationsPerASN = *maxReservations
	r, err := relay.New(h,
		relay.WithResources(rc),
		relay.WithInfiniteLimits(),
		// Put the loopback/private addresses in reservations too (default: public ones only).
		relay.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }),
	)
	if err != nil {
		return fmt.Errorf("starting relay service: %w", err)
	}
	defer r.Close()

	addrs := h.Addrs()
	if len(addrs) == 0 {
		addrs = h.Network().ListenAddresses()
	}
	p2p, err := ma.NewComponent("p2p", h.ID().String())
	if err != nil {
		return err
	}
	out := startup{PeerID: h.ID().String(), Multiaddrs: []string{}}
	for _, a := range addrs {
		out.Multiaddrs = append(out.Multiaddrs, a.Encapsulate(p2p).String())
	}
	line, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(os.Stdout, "%s\n", line); err != nil {
		return err
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	signal.Stop(sig)
	return nil
}
