package main

// `go-relay hold --relay MULTIADDR[,MULTIADDR]`: a go-libp2p peer behind a NAT, reachable only
// through the circuit-relay-v2 reservations it holds (test/federation/go-peer.test.ts: such a
// peer is found through the anchors' DHT directory). It listens on nothing itself; it reserves
// a slot on each relay, keeps the reservation (renewed before it expires, made again when the
// relay connection drops) and advertises <relay addr>/p2p/<relay>/p2p-circuit for each one it
// holds. Once its signed peer record names a circuit address it prints one JSON line,
//
//	{"peerId":"12D3Koo...","circuitAddrs":["/ip4/127.0.0.1/tcp/4001/p2p/12D3Koo.../p2p-circuit/p2p/12D3Koo..."]}
//
// then runs until SIGINT or SIGTERM and exits 0. What it does along the way (reservations,
// its signed record's seq and addresses after each change) goes to stderr.
//
// Everything else is go-libp2p's stock behaviour: identify answers with the host's signed peer
// record (seq = signing time in nanoseconds) and pushes a new one when the addresses change;
// the ping service (/ipfs/ping/1.0.0) is on; reachability is forced private, so the host's
// addresses are its relay addresses. TCP, /noise and /yamux/1.0.0 only, Ed25519 key, as in main.go.
//
// Not autorelay (libp2p.EnableAutoRelayWithStaticRelays): it makes the same reservations, but
// advertises only a relay's public addresses (autorelay's cleanupAddressSet), so a relay on
// 127.0.0.1 gives no circuit address at all. This file reserves with the same client
// (circuitv2 client.Reserve) and hands the host its circuit addresses with the event autorelay
// uses (EvtAutoRelayAddrsUpdated), without that filter.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

const (
	// renewBefore: a reservation is renewed this long before it expires (autorelay's rsvpExpirationSlack).
	renewBefore = 2 * time.Minute
	// retryAfter: wait after a failed connect or reservation before the next try.
	retryAfter = 2 * time.Second
	// attemptTimeout bounds one connect-and-reserve.
	attemptTimeout = 10 * time.Second
)

type holding struct {
	PeerID       string   `json:"peerId"`
	CircuitAddrs []string `json:"circuitAddrs"`
}

func hold(args []string) error {
	flags := flag.NewFlagSet("hold", flag.ContinueOnError)
	var relays listFlag
	flags.Var(&relays, "relay", "a relay's multiaddr ending in /p2p/<peerId>; repeatable or comma-separated")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("hold: unexpected arguments: %v", flags.Args())
	}
	if len(relays) == 0 {
		return errors.New("hold: --relay is required")
	}
	var infos []peer.AddrInfo
	for _, r := range relays {
		addr, err := ma.NewMultiaddr(r)
		if err != nil {
			return fmt.Errorf("hold: --relay %s: %w", r, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(addr)
		if err != nil {
			return fmt.Errorf("hold: --relay %s must end in /p2p/<peerId>: %w", r, err)
		}
		infos = append(infos, *info)
	}

	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating identity: %w", err)
	}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.NoListenAddrs,
		libp2p.EnableRelay(), // after NoListenAddrs, which turns it off: the circuit transport is what accepts relayed connections
		libp2p.ForceReachabilityPrivate(),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		return fmt.Errorf("creating host: %w", err)
	}
	defer h.Close()

	emitter, err := h.EventBus().Emitter(new(event.EvtAutoRelayAddrsUpdated), eventbus.Stateful)
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	defer emitter.Close()
	localAddrs, err := h.EventBus().Subscribe(new(event.EvtLocalAddressesUpdated))
	if err != nil {
		return fmt.Errorf("subscribing to address updates: %w", err)
	}
	defer localAddrs.Close()

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	held := &circuits{emitter: emitter, byRelay: map[peer.ID][]ma.Multiaddr{}}
	var wg sync.WaitGroup
	for _, info := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keepReservation(ctx, h, info, held)
		}()
	}

	printed := false
	for {
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			if !printed {
				return errors.New("hold: stopped before holding any reservation")
			}
			return nil
		case <-localAddrs.Out():
		}
		pr := ownRecord(h)
		if pr == nil {
			logf("no signed peer record") // go-libp2p keeps none while the host has no address
			continue
		}
		logf("signed peer record seq=%d addrs=%v", pr.Seq, pr.Addrs)
		if printed {
			continue
		}
		var out []string
		self := ma.StringCast("/p2p/" + h.ID().String())
		for _, a := range pr.Addrs {
			if isCircuit(a) {
				out = append(out, a.Encapsulate(self).String())
			}
		}
		if len(out) == 0 {
			continue
		}
		line, err := json.Marshal(holding{PeerID: h.ID().String(), CircuitAddrs: out})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(os.Stdout, "%s\n", line); err != nil {
			return err
		}
		printed = true
	}
}

// keepReservation holds a reservation on one relay until ctx ends: reserve, wait until it is
// due for renewal or the relay connection drops, reserve again.
func keepReservation(ctx context.Context, h host.Host, relay peer.AddrInfo, held *circuits) {
	connectedness, err := h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
	if err != nil {
		logf("relay %s: subscribing to connection events: %v", relay.ID, err)
		return
	}
	defer connectedness.Close()
	h.ConnManager().Protect(relay.ID, "go-relay-hold")
	defer held.set(relay.ID, nil)
	for ctx.Err() == nil {
		rsvp, err := reserveOnce(ctx, h, relay)
		if err != nil {
			held.set(relay.ID, nil)
			logf("relay %s: %v; again in %s", relay.ID, err, retryAfter)
			pause(ctx, retryAfter)
			continue
		}
		logf("relay %s: reservation until %s", relay.ID, rsvp.Expiration.Format(time.RFC3339))
		circuit := ma.StringCast("/p2p/" + relay.ID.String() + "/p2p-circuit")
		var addrs []ma.Multiaddr
		for _, a := range relay.Addrs {
			addrs = append(addrs, a.Encapsulate(circuit))
		}
		held.set(relay.ID, addrs)
		renew := time.NewTimer(max(time.Until(rsvp.Expiration)-renewBefore, retryAfter))
	wait:
		for {
			select {
			case <-ctx.Done():
				renew.Stop()
				return
			case <-renew.C:
				break wait
			case e := <-connectedness.Out():
				if c := e.(event.EvtPeerConnectednessChanged); c.Peer == relay.ID && c.Connectedness != network.Connected {
					renew.Stop()
					held.set(relay.ID, nil) // the relay forgets a reservation with its connection
					logf("relay %s: disconnected", relay.ID)
					break wait
				}
			}
		}
	}
}

func reserveOnce(ctx context.Context, h host.Host, relay peer.AddrInfo) (*client.Reservation, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	if err := h.Connect(ctx, relay); err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	rsvp, err := client.Reserve(ctx, h, relay)
	if err != nil {
		return nil, fmt.Errorf("reserving: %w", err)
	}
	return rsvp, nil
}

// circuits holds the circuit addresses of the reservations held now, and tells the host about
// every change as autorelay does.
type circuits struct {
	mu      sync.Mutex
	emitter event.Emitter
	byRelay map[peer.ID][]ma.Multiaddr
}

func (c *circuits) set(relay peer.ID, addrs []ma.Multiaddr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.EqualFunc(c.byRelay[relay], addrs, ma.Multiaddr.Equal) {
		return
	}
	if addrs == nil {
		delete(c.byRelay, relay)
	} else {
		c.byRelay[relay] = addrs
	}
	all := []ma.Multiaddr{}
	for _, a := range c.byRelay {
		all = append(all, a...)
	}
	slices.SortFunc(all, ma.Multiaddr.Compare)
	if err := c.emitter.Emit(event.EvtAutoRelayAddrsUpdated{RelayAddrs: all}); err != nil {
		logf("announcing circuit addresses: %v", err)
	}
}

// ownRecord is the host's current signed peer record (what identify sends), or nil.
func ownRecord(h host.Host) *peer.PeerRecord {
	book, ok := peerstore.GetCertifiedAddrBook(h.Peerstore())
	if !ok {
		return nil
	}
	envelope := book.GetPeerRecord(h.ID())
	if envelope == nil {
		return nil
	}
	rec, err := envelope.Record()
	if err != nil {
		return nil
	}
	pr, _ := rec.(*peer.PeerRecord)
	return pr
}

func isCircuit(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go-relay hold: %s\n", strings.TrimSpace(fmt.Sprintf(format, args...)))
}
