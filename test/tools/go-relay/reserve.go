package main

// `go-relay reserve --relay MULTIADDR`: a go-libp2p relay *client* (the interop check of the
// relay's duration limit). It connects to the relay over TCP (noise, yamux), makes one
// circuit-relay-v2 reservation and prints what go-libp2p understood of it, as one JSON line:
//
//	{"limitDurationSeconds":1800,"limitDataBytes":134217728,"expiresInSeconds":3599}
//
// go-libp2p reads the protobuf Limit.duration as seconds, as the spec says.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

type reservation struct {
	LimitDurationSeconds float64 `json:"limitDurationSeconds"`
	LimitDataBytes       uint64  `json:"limitDataBytes"`
	ExpiresInSeconds     float64 `json:"expiresInSeconds"`
}

func reserve(args []string) error {
	flags := flag.NewFlagSet("reserve", flag.ContinueOnError)
	relayAddr := flags.String("relay", "", "the relay's multiaddr, ending in /p2p/<peerId>")
	timeout := flags.Duration("timeout", 20*time.Second, "give up after this long")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *relayAddr == "" {
		return fmt.Errorf("reserve: --relay is required")
	}
	addr, err := ma.NewMultiaddr(*relayAddr)
	if err != nil {
		return fmt.Errorf("reserve: --relay: %w", err)
	}
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return fmt.Errorf("reserve: --relay must end in /p2p/<peerId>: %w", err)
	}
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return err
	}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		return fmt.Errorf("creating host: %w", err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := h.Connect(ctx, *info); err != nil {
		return fmt.Errorf("connecting to the relay: %w", err)
	}
	r, err := client.Reserve(ctx, h, *info)
	if err != nil {
		return fmt.Errorf("reserving: %w", err)
	}
	line, err := json.Marshal(reservation{
		LimitDurationSeconds: r.LimitDuration.Seconds(),
		LimitDataBytes:       r.LimitData,
		ExpiresInSeconds:     time.Until(r.Expiration).Round(time.Second).Seconds(),
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", line)
	return err
}
