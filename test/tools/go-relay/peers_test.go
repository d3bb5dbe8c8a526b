package main

// The storm peers' policies against the js ones they stand in for (AnchorMesh's turnedAway and
// jitter, node-image/src/net/anchor-mesh.ts; the reservation retry of the circuit-relay patch).
// Run by test/interop/go-peers-policy.test.ts.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	goyamux "github.com/libp2p/go-yamux/v5"
	ma "github.com/multiformats/go-multiaddr"
)

func TestTurnedAwayIsAResetOrAnEndMidHandshakeNotARefusal(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("failed to dial: %w", &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: err}})
	}
	for name, err := range map[string]error{
		"reset":                wrap(syscall.ECONNRESET),
		"closed mid-handshake": fmt.Errorf("failed to negotiate security protocol: %w", io.EOF),
		"closed in a message":  fmt.Errorf("noise: %w", io.ErrUnexpectedEOF),
	} {
		if !turnedAway(err) {
			t.Errorf("%s (%v): not turned away", name, err)
		}
	}
	for name, err := range map[string]error{
		"refused (the anchor is down)": wrap(syscall.ECONNREFUSED),
		// AnchorMesh counts only a reset (ECONNRESET) and an end mid-handshake.
		"a write after a reset": wrap(syscall.EPIPE),
		"timed out":             fmt.Errorf("dial: %w", errors.New("i/o timeout")),
	} {
		if turnedAway(err) {
			t.Errorf("%s (%v): turned away", name, err)
		}
	}
}

func TestJitterStaysBetweenHalfTheFirstBackoffAndTheBackoff(t *testing.T) {
	for _, c := range []struct{ backoff, first time.Duration }{
		{initialBackoff, initialBackoff},
		{8 * time.Second, initialBackoff},
		{turnedAwayBackoff, turnedAwayBackoff},
		{turnedAwayMaximum, turnedAwayBackoff},
	} {
		low, high := c.backoff, time.Duration(0)
		for range 2000 {
			d := jittered(c.backoff, c.first)
			low, high = min(low, d), max(high, d)
		}
		floor := min(c.first/2, c.backoff)
		if low < floor || high > c.backoff {
			t.Errorf("jittered(%s, %s) ranged %s-%s, outside %s-%s", c.backoff, c.first, low, high, floor, c.backoff)
		}
		// Spread over the window, not bunched (2000 draws).
		if span := c.backoff - floor; low > floor+span/10 || high < c.backoff-span/10 {
			t.Errorf("jittered(%s, %s) ranged only %s-%s", c.backoff, c.first, low, high)
		}
	}
}

func TestOnlyAnAnswerOtherThanOKIsARefusedReservation(t *testing.T) {
	if !refused(fmt.Errorf("reserving: %w", client.ReservationError{Status: pbv2.Status_RESERVATION_REFUSED, Reason: "reservation failed"})) {
		t.Error("a RESERVATION_REFUSED answer is not a refusal")
	}
	if refused(client.ReservationError{Status: pbv2.Status_CONNECTION_FAILED, Reason: "error reading reservation response message: %w"}) {
		t.Error("no answer in time is a refusal")
	}
	if refused(io.EOF) {
		t.Error("a closed stream is a refusal")
	}
}

// As a library peer, the record names the circuit address as soon as the reservation is held, and
// a second push 2 s later re-sends it (repush toggles a protocol); neither outlives its reservation.
func TestTheRecordNamesTheCircuitAtOnceAndIsPushedAgainForItsReservationOnly(t *testing.T) {
	// As startPeer: a private host takes its relay addresses as its own.
	h, err := libp2p.New(libp2p.NoListenAddrs, libp2p.EnableRelay(), libp2p.ForceReachabilityPrivate(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	emitter, err := h.EventBus().Emitter(new(event.EvtAutoRelayAddrsUpdated), eventbus.Stateful)
	if err != nil {
		t.Fatal(err)
	}
	anchor := "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"
	circuit := ma.StringCast("/ip4/127.0.0.1/tcp/4001/p2p/" + anchor + "/p2p-circuit")
	p := &simPeer{h: h, emitter: emitter, circuit: []ma.Multiaddr{circuit}}
	recordNames := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			named := false
			if rec := ownRecord(h); rec != nil {
				named = slices.ContainsFunc(rec.Addrs, circuit.Equal)
			}
			if named == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the signed record names the circuit address: %v, want %v", named, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	handles := func() bool { return slices.Contains(h.Mux().Protocols(), repushProtocol) }

	generation, gained := p.setReserved(true)
	if !gained {
		t.Fatal("a first reservation is not a gain")
	}
	if _, again := p.setReserved(true); again {
		t.Fatal("a renewal counts as a gain")
	}
	p.announce(generation)
	recordNames(true)
	p.repush(generation)
	if !handles() {
		t.Fatal("repush did not change the protocols (no push)")
	}
	p.repush(generation)
	if handles() {
		t.Fatal("a second repush did not change the protocols back")
	}
	p.setReserved(false)
	recordNames(false)
	p.announce(generation)
	p.repush(generation)
	if handles() {
		t.Fatal("a repush outlived its reservation")
	}
	recordNames(false)
}

// Against a go-libp2p relay: the peer's record names its circuit address well before the 2 s a
// push after the debounce would take, and the second push reaches the relay about 2 s later.
func TestAPeerHoldingAReservationAnnouncesAtOnceAndPushesAgainAt2s(t *testing.T) {
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r, err := relay.New(h, relay.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// What the relay's identify took in from the peer (answers and pushes alike), and when.
	events, err := h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	p, err := startPeer(peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}, net.IPv4(127, 0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	defer p.h.Close()
	reserved := time.Now()
	namesCircuit := func(e event.EvtPeerIdentificationCompleted) bool {
		if e.SignedPeerRecord == nil {
			return false
		}
		rec, err := e.SignedPeerRecord.Record()
		if err != nil {
			return false
		}
		pr, _ := rec.(*peer.PeerRecord)
		return pr != nil && slices.ContainsFunc(pr.Addrs, isCircuit)
	}
	var named, pushedAgain time.Duration
	deadline := time.After(repushAfter + 2*time.Second)
	for pushedAgain == 0 {
		select {
		case <-deadline:
			t.Fatalf("by %s: record naming the circuit after %s, second push after %s (0: none)", repushAfter+2*time.Second, named, pushedAgain)
		case e := <-events.Out():
			c := e.(event.EvtPeerIdentificationCompleted)
			if c.Peer != p.h.ID() {
				continue
			}
			if named == 0 && namesCircuit(c) {
				named = time.Since(reserved)
			}
			if slices.Contains(c.Protocols, repushProtocol) {
				pushedAgain = time.Since(reserved)
			}
		}
	}
	if named == 0 || named > time.Second {
		t.Errorf("the relay had a record naming the circuit address after %s (0: never), not at once", named)
	}
	if pushedAgain < repushAfter-100*time.Millisecond {
		t.Errorf("pushed again after %s, before the %s due", pushedAgain, repushAfter)
	}
	// The keepalive is a yamux ping frame, as the library's, not a ping stream.
	conns := p.h.Network().ConnsToPeer(h.ID())
	if len(conns) == 0 {
		t.Fatal("no connection to the relay")
	}
	var session *goyamux.Session
	if !conns[0].As(&session) {
		t.Fatal("the connection has no yamux session to ping through")
	}
	if !p.ping(context.Background(), conns[0]) {
		t.Error("the relay did not answer a yamux ping")
	}
}
